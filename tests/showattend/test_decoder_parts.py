"""The decoder as a part: a Captioner takes any registered decoder (or a Decoder layer), saves and
loads it, captions with its step, and the tuner searches over several; the run folder is one concept."""
import dataclasses
import json

import keras
import keras_tuner as kt
import numpy as np
import pytest

from showattend import Captioner, load_captioner
from showattend.datasets import load, shapes
from showattend.decoders import LSTMDecoder, decoder_class, list_decoders, register_decoder
from showattend.decoders import _DECODERS
from showattend.training import RunFolder
from showattend.tuning import CaptionHyperModel

SMALL = dict(units=16, embed_dim=8, attention_dim=8)


@keras.saving.register_keras_serializable(package="tests")
class NarrowLSTM(LSTMDecoder):
    """A decoder added from outside the package: the LSTM under another name, whose cell and score a
    search leaves alone."""

    registered_name = "narrow_lstm"
    OPTIONS = tuple(dataclasses.replace(o, tune=None) if o.name in ("attention_score", "cell") else o
                    for o in LSTMDecoder.OPTIONS)


@pytest.fixture
def narrow():
    register_decoder(NarrowLSTM)
    yield NarrowLSTM
    _DECODERS.pop(NarrowLSTM.registered_name)


def test_a_registered_decoder_is_built_saved_loaded_and_searched_with_no_other_change(narrow, vocabulary, small_data,
                                                                                       tmp_path):
    assert list_decoders() == ["lstm", "transformer", "narrow_lstm"] and decoder_class("narrow_lstm") is NarrowLSTM
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, decoder="narrow_lstm", image_size=(32, 32), **SMALL)
    assert type(model.decoder) is NarrowLSTM and model.decoder.describe() == "soft-attention LSTM"
    with pytest.raises(ValueError, match="The narrow_lstm decoder has no option 'layers'. Its options: attention, "):
        Captioner("small_vgg", vocabulary, decoder="narrow_lstm", image_size=(32, 32), layers=2)
    model.save(tmp_path / "narrow.keras")
    again = load_captioner(tmp_path / "narrow.keras")
    assert type(again.decoder) is NarrowLSTM and again.decoder.options == model.decoder.options
    images = small_data.images[:3]
    assert [c.text for c in again.caption(images, beam_size=2)] == [c.text for c in model.caption(images, beam_size=2)]

    hypermodel = CaptionHyperModel(vocabulary, image_size=(32, 32), decoders=["transformer", "narrow_lstm"], **SMALL)
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    assert hp.get("decoder") == "transformer" and [h.name for h in hp.space].count("attention") == 1
    hp.values["decoder"] = "narrow_lstm"
    active = {h.name for h in hp.space if hp.is_active(h)}
    assert "attention" in active and not active & {"cell", "attention_score", "layers"}
    hp.values.update({h.name: h.default for h in hp.space if h.name in active and h.name not in hp.values})  # as an oracle fills a trial
    built = hypermodel.build(hp)
    assert type(built.decoder) is NarrowLSTM and built.decoder.options["units"] == 16
    # keras-tuner keeps one value per name: two decoders that search one name cannot share a search
    with pytest.raises(ValueError, match="The lstm and narrow_lstm decoders both search an option named 'attention'"):
        CaptionHyperModel(vocabulary, image_size=(32, 32), decoders=["lstm", "narrow_lstm"], **SMALL)


def test_a_decoder_layer_can_be_given_whole(vocabulary, small_data, tmp_path):
    decoder = LSTMDecoder(len(vocabulary), cell="gru", **SMALL)
    model = Captioner("small_vgg", vocabulary, decoder=decoder, image_size=(32, 32))
    assert model.decoder is decoder and model.decoder.built
    model.save(tmp_path / "given.keras")
    assert load_captioner(tmp_path / "given.keras").decoder.options["cell"] == "gru"
    with pytest.raises(ValueError, match=r"Options \['units'\] go to the decoder's constructor"):
        Captioner("small_vgg", vocabulary, decoder=LSTMDecoder(len(vocabulary)), units=8)
    with pytest.raises(ValueError, match=f"The decoder writes 5 words but the vocabulary has {len(vocabulary)}"):
        Captioner("small_vgg", vocabulary, decoder=LSTMDecoder(5))
    with pytest.raises(ValueError, match="Unknown decoder 'transformers'. Accepted: lstm"):
        Captioner("small_vgg", vocabulary, decoder="transformers")


def test_the_run_folder_names_its_files_and_draws_its_split(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    data = shapes("train", 20, seed=0)
    rows = ["image,caption"]
    for i, (image, refs) in enumerate(zip(data.images, data.captions)):
        Image.fromarray(image).save(photos / f"{i:02d}.png")
        rows.append(f"{i:02d}.png,{refs[0]}")
    (photos / "captions.csv").write_text("\n".join(rows) + "\n")
    spec = "folder:" + str(photos / "captions.csv")
    run = RunFolder(tmp_path / "run")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"data": spec, "val_split": 0.3, "seed": 5}))
    held_out = run.dataset(spec, "val", images=str(photos))
    expected = load(spec, "val", images=str(photos), val_split=0.3, seed=5)
    assert list(held_out.images) == list(expected.images) and len(held_out) == 6
    other = run.dataset(spec, "val", images=str(photos), seed=6)  # a seed given wins over the run's
    assert list(other.images) != list(expected.images)
    assert run.trained_on(spec) and not run.trained_on("shapes")
    assert (run.model, run.config) == (str(tmp_path / "run" / "model.keras"), str(tmp_path / "run" / "config.json"))


def test_a_run_saved_with_fewer_decoder_options_resumes(tmp_path):
    from showattend.training.run import _with_paper_values

    run = RunFolder(tmp_path)
    (tmp_path / "backup").mkdir()  # it finished an epoch
    old = {"data": "shapes", "model": {"embed_dim": 512, "units": 512, "attention_dim": 512, "dropout": 0.5,
                                       "doubly_stochastic": 1.0}}  # what train saved before the decoder was a part
    (tmp_path / "config.json").write_text(json.dumps(old))
    now = {"data": "shapes", "model": _with_paper_values({})}
    run.check_same_run(now, complete={"model": _with_paper_values})  # the same run: no error
    with pytest.raises(ValueError, match="model: .* before, .* now"):
        run.check_same_run({"data": "shapes", "model": _with_paper_values({"units": 256})},
                           complete={"model": _with_paper_values})
