"""The runnable examples in the docstrings run and give what they show (those marked SKIP need files)."""
import doctest
import importlib

import pytest

MODULES = ["cnn_backbones.registry", "showattend.text.vocabulary", "showattend.data.dataset",
           "showattend.data.pipeline", "showattend.data.unreadable", "showattend.datasets.load",
           "showattend.datasets.common", "showattend", "showattend.datasets.shapes",
           "showattend.generation", "showattend.training", "showattend.evaluation",
           "showattend.layers.decoder", "showattend.layers.attention"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
