"""The examples in the docstrings run and give what they show, in every public module (found, not
listed). Each module's examples run in a fresh temporary folder, so an example may write files.
Examples marked ``+SKIP`` need the internet or a download; test_docstrings checks that they say so.
"""
import doctest
import importlib

import pytest

from docsite.modules import public_modules, public_names

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", public_modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    if public_names(module):
        assert result.attempted > 0, f"{name} defines public names but none of its docstrings has an example"
