"""How trials train: Hyperband promotions go on from their parent's checkpoint, a frozen pretrained
backbone trains from the shared feature cache, and export retrains on train+val."""
import math

import keras
import numpy as np
import pytest
from PIL import Image

from showattend import CaptionDataset, Vocabulary, load_captioner
from showattend.datasets import shapes
from showattend.features import FeatureCache
from showattend.training import steps_per_epoch
from showattend.tuning import CaptionHyperModel, export_best, make_tuner, results_table
from showattend.tuning.hypermodel import join
from showattend.tuning.report import trial_history

SMALL = dict(units=32, embed_dim=16, attention_dim=16, doubly_stochastic=0.0, learning_rate=3e-3, cell="lstm",
             attention_score="additive", attention="soft")


@pytest.fixture(scope="module")
def data():
    train, val = shapes("train", num_images=150, seed=0), shapes("val", num_images=20, seed=1)
    return train, val, Vocabulary.build(train.all_captions(), min_count=1)


class RecordFirstEpoch(keras.callbacks.Callback):
    """Each fit's first epoch index and the decoder's weights then (a class attribute: keras-tuner
    deep-copies callbacks for every trial)."""

    seen = []

    def on_train_begin(self, logs=None):
        self.first = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.first:
            RecordFirstEpoch.seen.append((epoch, [w.numpy().copy() for w in self.model.decoder.weights]))
        self.first = False


def test_hyperband_promotes_a_trial_from_its_parents_best_epoch(data, tmp_path):
    train, val, vocabulary = data
    RecordFirstEpoch.seen = []
    hypermodel = CaptionHyperModel(vocabulary, backbones=["small_vgg"], image_size=(64, 64), val_images=20,
                                   batch_size=32, dropout=None, **SMALL)
    tuner = make_tuner(hypermodel, "hyperband", max_epochs=2, factor=2, directory=tmp_path, verbose=0)
    tuner.search(train.subset(range(64)), validation_data=val, callbacks=[RecordFirstEpoch()], verbose=0)
    trials = tuner.oracle.trials
    promoted = [t for t in trials.values() if t.hyperparameters.values.get("tuner/trial_id")]
    assert len(trials) == 5 and len(promoted) == 1 and all(t.status == "COMPLETED" for t in trials.values())
    child = promoted[0]
    parent = child.hyperparameters.values["tuner/trial_id"]
    assert child.hyperparameters.values["tuner/initial_epoch"] == 1
    assert child.hyperparameters.values["dropout"] == trials[parent].hyperparameters.values["dropout"]
    # the promoted trial's curve is its parent's first epoch, then its own second
    assert [r["epoch"] for r in trial_history(tuner, child.trial_id)] == [1, 2]
    assert trial_history(tuner, child.trial_id)[0] == trial_history(tuner, parent)[0]
    # it trained epoch 2 only, so that is its best epoch (keras-tuner's best_step counts from 0 there)
    row = next(r for r in results_table(tuner) if r["trial"] == child.trial_id)
    assert row["best_epoch"] == 2 and row["score"] == pytest.approx(trial_history(tuner, child.trial_id)[1]["val_bleu4"])
    # it began from the parent's checkpoint, not from fresh weights
    started = [weights for epoch, weights in RecordFirstEpoch.seen if epoch == 1]
    checkpoint = tuner.load_model(trials[parent]).decoder.weights
    assert len(started) == 1 and len(started[0]) == len(checkpoint)
    for begun, saved in zip(started[0], checkpoint):
        np.testing.assert_array_equal(begun, saved.numpy())
    fresh = [weights for epoch, weights in RecordFirstEpoch.seen if epoch == 0]
    assert any(not np.array_equal(f, s) for f, s in zip(fresh[0], started[0]))


def _as_files(dataset, folder):
    folder.mkdir()
    paths = []
    for i, image in enumerate(dataset.images):
        paths.append(str(folder / f"{i:03d}.png"))
        Image.fromarray(image).save(paths[-1])
    return CaptionDataset(paths, dataset.captions)


def test_a_frozen_pretrained_backbone_trains_from_one_feature_cache_shared_by_the_trials(data, tmp_path,
                                                                                          monkeypatch):
    train, val, vocabulary = data
    train, val = _as_files(train.subset(range(60)), tmp_path / "train"), _as_files(val, tmp_path / "val")
    weights = str(tmp_path / "vgg16_notop.weights.h5")  # stands in for the ImageNet file (no internet here)
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3)).save_weights(weights)
    extracted = []
    extract = FeatureCache.extract

    def counting_extract(self, *args, **kwargs):
        extracted.append(extract(self, *args, **kwargs))
        return extracted[-1]

    monkeypatch.setattr(FeatureCache, "extract", counting_extract)
    hypermodel = CaptionHyperModel(vocabulary, backbones=["vgg16"], image_size=(64, 64), pretrained=True,
                                   fine_tune=False, weights=weights, val_images=20, batch_size=16, dropout=None,
                                   **SMALL)
    tuner = make_tuner(hypermodel, "random", max_trials=2, max_epochs=1, directory=tmp_path / "tuning", verbose=0)
    tuner.search(train, validation_data=val, verbose=0)
    assert all(t.status == "COMPLETED" and math.isfinite(t.score) for t in tuner.oracle.trials.values())
    assert extracted == [80, 0]  # the first trial extracted the 60 + 20 images, the second only read them
    caches = list((tmp_path / "tuning" / "search" / "features").iterdir())
    assert len(caches) == 1 and caches[0].name.startswith("vgg16_") and (caches[0] / "cache.json").is_file()
    model = tuner.get_best_models(1)[0]
    assert not model.backbone.trainable
    before = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(64, 64, 3))
    np.testing.assert_array_equal(model.backbone.weights[0].numpy(), before.weights[0].numpy())


def test_export_can_retrain_the_best_hyperparameters_on_train_and_val(data, tmp_path, capsys):
    train, val, vocabulary = data
    hypermodel = CaptionHyperModel(vocabulary, backbones=["small_vgg"], image_size=(64, 64), val_images=20,
                                   batch_size=32, dropout=0.0, **SMALL)
    tuner = make_tuner(hypermodel, "random", max_trials=1, max_epochs=2, directory=tmp_path, verbose=0)
    tuner.search(train, validation_data=val, verbose=0)
    with pytest.raises(ValueError, match="retrain=True needs the training and validation data"):
        export_best(tuner, tmp_path / "nothing.keras", retrain=True)
    capsys.readouterr()
    model = export_best(tuner, tmp_path / "retrained.keras", retrain=True, train=train, validation_data=val,
                        epochs=1)
    said = capsys.readouterr().out
    assert "Retraining trial 0's hyperparameters on train+val for 1 epochs" in said
    assert "retrained on train+val" in said
    both, alone = steps_per_epoch(model, join(train, val), 32), steps_per_epoch(model, train, 32)
    assert both > alone and int(model.optimizer.iterations.numpy()) == both  # one epoch over train and val
    checkpoint = tuner.load_model(tuner.oracle.trials["0"])
    assert not np.array_equal(model.decoder.weights[0].numpy(), checkpoint.decoder.weights[0].numpy())
    again = load_captioner(tmp_path / "retrained.keras")
    assert [c.tokens for c in again.caption(val.images[:8])] == [c.tokens for c in model.caption(val.images[:8])]
