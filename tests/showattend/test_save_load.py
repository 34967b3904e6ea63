import keras
import numpy as np
import pytest

from showattend import Captioner, load_captioner


def test_save_load_round_trip_gives_identical_captions(captioner, small_data, tmp_path):
    path = tmp_path / "model.keras"
    captioner.save(path)
    assert path.exists() and not list(tmp_path.glob("*partial*"))
    for loaded in (load_captioner(path), keras.saving.load_model(path)):
        assert isinstance(loaded, Captioner)
        assert loaded.vocabulary == captioner.vocabulary and loaded.image_size == captioner.image_size
        before = captioner.caption(small_data.images[:5], beam_size=3, return_attention=True)
        after = loaded.caption(small_data.images[:5], beam_size=3, return_attention=True)
        for a, b in zip(before, after):
            assert a.text == b.text and a.score == pytest.approx(b.score, abs=1e-5)
            np.testing.assert_allclose(a.attention, b.attention, atol=1e-6)


def test_config_round_trip(captioner):
    clone = Captioner.from_config(captioner.get_config())
    assert clone.decoder.options["units"] == 32 and clone.decoder.attention_dim == 16
    assert clone.count_params() == captioner.count_params()


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.keras"):
        load_captioner(tmp_path / "absent.keras")
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.keras"):
        load_captioner(junk)


def test_save_needs_keras_extension(captioner, tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        captioner.save(tmp_path / "model.h5")
