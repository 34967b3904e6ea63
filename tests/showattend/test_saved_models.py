"""Models saved by earlier versions load and caption as they did then (saved_models/make.py wrote them)."""
import json
import math
import pathlib
import sys

import numpy as np
import pytest

from showattend import load_captioner
from showattend.datasets import shapes

SAVED = pathlib.Path(__file__).parent / "saved_models"
sys.path.insert(0, str(SAVED))
from make import MODELS, captions_of  # noqa: E402


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_old_model_captions_as_it_did(name):
    model = load_captioner(SAVED / f"{name}.keras")
    expected = json.loads((SAVED / f"{name}.json").read_text())
    got = captions_of(model, name)
    assert len(got) == len(expected) > 0
    for old, new in zip(expected, got):
        where = f"{name} {old['reading']} beam {old['beam_size']}"
        assert new["tokens"] == old["tokens"], where
        assert math.isclose(new["score"], old["score"], abs_tol=1e-4), where
        np.testing.assert_allclose(new["attention"], old["attention"], atol=1e-5, err_msg=where)
        np.testing.assert_allclose(new["beta"], old["beta"], atol=1e-5, err_msg=where)
        assert new.get("regions") == old.get("regions"), where


def test_an_old_model_trains_on():
    model = load_captioner(SAVED / "hard.keras")
    assert int(model.optimizer.iterations.numpy()) == 8  # 2 epochs of 4 steps: its optimizer came back
    history = model.fit(shapes("train", num_images=32, seed=4), epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and int(model.optimizer.iterations.numpy()) == 12
