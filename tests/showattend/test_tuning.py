"""Captioner search with keras-tuner: the space, construction, the objective, failures, resume, export."""
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

from showattend import Captioner, Vocabulary, load_captioner
from showattend.datasets import shapes
from showattend.tuning import (CaptionHyperModel, export_best, format_table, make_tuner, plot_results,
                               results_table)
from showattend.tuning.report import trial_history

SMALL = dict(units=32, embed_dim=16, attention_dim=16, dropout=0.0, doubly_stochastic=0.0, learning_rate=3e-3)


@pytest.fixture(scope="module")
def data():
    train, val = shapes("train", num_images=300, seed=0), shapes("val", num_images=40, seed=1)
    return train, val, Vocabulary.build(train.all_captions(), min_count=1)


def small_hypermodel(vocabulary, **overrides):
    settings = dict(backbones=["small_vgg"], image_size=(64, 64), val_images=40, batch_size=32, cell="lstm",
                    attention_score="additive", attention="soft", **SMALL)
    settings.update(overrides)
    return CaptionHyperModel(vocabulary, **settings)


def space_of(hypermodel):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return hp


def test_space_names_defaults_and_conditions(data):
    hypermodel = CaptionHyperModel(data[2], backbones=["resnet50", "googlenet", "highway11", "vgg16"],
                                   image_size=(224, 224))
    hp = space_of(hypermodel)
    assert [h.name for h in hp.space] == ["backbone", "feature_stage", "feature_module", "pretrained", "fine_tune",
                                          "gate_bias", "attention", "cell", "attention_score", "units", "embed_dim",
                                          "attention_dim", "dropout", "doubly_stochastic", "learning_rate",
                                          "reinforce_weight", "entropy_weight"]
    defaults = {h.name: h.default for h in hp.space}
    assert defaults["backbone"] == "resnet50" and defaults["units"] == defaults["embed_dim"] == 512
    assert defaults["attention_dim"] == 512 and defaults["dropout"] == 0.5 and defaults["doubly_stochastic"] == 1.0
    assert defaults["learning_rate"] == pytest.approx(4e-4) and defaults["attention"] == "soft"
    parents = {h.name: [(c.name, c.values) for c in h.conditions] for h in hp.space}
    assert parents["feature_stage"] == [("backbone", ["resnet50"])]
    assert parents["feature_module"] == [("backbone", ["googlenet"])]
    assert parents["pretrained"] == [("backbone", ["resnet50", "vgg16"])]  # only these have ImageNet weights
    assert parents["fine_tune"] == [("backbone", ["resnet50", "vgg16"]), ("pretrained", [True])]
    assert parents["gate_bias"] == [("backbone", ["highway11"])]
    assert parents["reinforce_weight"] == parents["entropy_weight"] == [("attention", ["hard"])]
    hp.values.update(backbone="highway11", attention="soft")
    active = {h.name for h in hp.space if hp.is_active(h)}
    assert "gate_bias" in active and not active & {"feature_stage", "pretrained", "fine_tune", "reinforce_weight"}
    hp.values.update(backbone="vgg16", pretrained=False, attention="hard")
    active = {h.name for h in hp.space if hp.is_active(h)}
    assert {"pretrained", "reinforce_weight", "entropy_weight"} <= active and "fine_tune" not in active


def test_fixed_values_pin_custom_ranges_replace_and_small_grids_are_left_out(data):
    hypermodel = CaptionHyperModel(data[2], backbones=["small_vgg", "vgg16", "resnet20"], image_size=(48, 48),
                                   units=64, dropout=kt.engine.hyperparameters.Float("x", 0.1, 0.3, default=0.2))
    hp = space_of(hypermodel)
    assert hp.get("backbone") == "small_vgg" and hypermodel.backbones == ["small_vgg", "resnet20"]  # vgg16: 3×3
    units = next(h for h in hp.space if h.name == "units")
    dropout = next(h for h in hp.space if h.name == "dropout")
    assert isinstance(units, kt.engine.hyperparameters.Fixed) and units.value == 64
    assert (dropout.min_value, dropout.max_value, dropout.default) == (0.1, 0.3, 0.2)
    with pytest.raises(ValueError, match=r"No backbone has a grid of at least 4×4 .*vgg16 \(2, 2\)"):
        CaptionHyperModel(data[2], backbones=["vgg16"], image_size=(32, 32))
    with pytest.raises(ValueError, match=r"attention='sparse' is not one of \['soft', 'hard'\]"):
        CaptionHyperModel(data[2], attention="sparse")
    with pytest.raises(ValueError, match="Unknown objective 'bleu'. Accepted: bleu4, val_bleu4, cider, val_cider"):
        CaptionHyperModel(data[2], objective="bleu")


def test_constructing_a_tuner_builds_nothing_and_downloads_nothing(data, tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    hypermodel = CaptionHyperModel(data[2], backbones=["vgg16", "resnet50", "densenet121", "googlenet"],
                                   image_size=(224, 224))
    builds = []
    monkeypatch.setattr(hypermodel, "build", lambda hp: builds.append(hp) or None)
    for algorithm in ("hyperband", "bayesian", "random"):
        tuner = make_tuner(hypermodel, algorithm, max_trials=3, max_epochs=4, directory=tmp_path, project_name=algorithm)
        assert tuner.oracle.objective.name == "val_bleu4" and tuner.oracle.objective.direction == "max"
    assert len(builds) == 0


class BreakLastEpoch(keras.callbacks.Callback):
    """After the last batch of epoch 3, zero the decoder's output layer: epoch 3 then scores worst.
    (Epoch 1 alone can score 0 too: val CIDEr-D 0.02–0.28 over 6 trials, 0.50–0.81 at epoch 2.)"""

    def on_train_batch_end(self, batch, logs=None):
        if self.params["steps"] == batch + 1 and getattr(self, "epoch", 0) == 2:
            for weight in self.model.decoder.output_logits.weights:
                weight.assign(np.zeros(weight.shape, weight.dtype))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


def test_a_search_scores_every_epoch_and_keeps_its_best(data, tmp_path):
    train, val, vocabulary = data
    hypermodel = small_hypermodel(vocabulary, objective="cider", dropout=None)
    tuner = make_tuner(hypermodel, "random", max_trials=1, max_epochs=3, directory=tmp_path, verbose=0)
    tuner.search(train, validation_data=val, callbacks=[BreakLastEpoch()], verbose=0)
    (trial,) = tuner.oracle.trials.values()
    assert trial.status == "COMPLETED"
    history = trial_history(tuner, trial.trial_id)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    scores = [r["val_cider"] for r in history]
    assert all(math.isfinite(r["val_cider"]) and math.isfinite(r["val_bleu4"]) for r in history)
    assert max(scores[:2]) > scores[2]  # the broken last epoch is the worst
    best = int(np.argmax(scores[:2]))
    assert trial.best_step == best and trial.score == pytest.approx(scores[best])
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        model = tuner.load_model(trial)  # the checkpoint: its best epoch's weights, not epoch 3's zeroed output layer
    assert not [w for w in warned if "optimizer" in str(w.message)]  # Keras' "Skipping variable loading…"
    assert np.abs(model.decoder.output_logits.weights[0].numpy()).sum() > 0
    (row,) = results_table(tuner, tmp_path / "results.csv")
    assert row["epochs"] == 3 and row["best_epoch"] == best + 1 and row["score"] == pytest.approx(scores[best])
    assert row["params"] == model.count_params() and row["batch_size"] == 32
    assert (tmp_path / "results.csv").read_text().splitlines()[0].startswith("trial,status,score,best_epoch")
    assert "val" not in format_table([row]).splitlines()[0] and "learning_rate" in format_table([row])


def test_the_first_trial_is_the_default_and_export_captions_as_the_best_model(data, tmp_path):
    train, val, vocabulary = data
    hypermodel = small_hypermodel(vocabulary, backbones=["small_vgg", "resnet20"], cell=None, dropout=None)
    tuner = make_tuner(hypermodel, "random", max_trials=2, max_epochs=1, directory=tmp_path, verbose=0)
    tuner.search(train.subset(range(96)), validation_data=val, verbose=0)
    first = tuner.oracle.trials[sorted(tuner.oracle.trials)[0]].hyperparameters.values
    assert first["backbone"] == "small_vgg" and first["cell"] == "lstm" and first["dropout"] == 0.5
    model = export_best(tuner, tmp_path / "best.keras", verbose=0)
    again = load_captioner(tmp_path / "best.keras")
    assert isinstance(again, Captioner)
    expected = [c.tokens for c in tuner.get_best_models(1)[0].caption(val.images[:12])]
    assert [c.tokens for c in again.caption(val.images[:12])] == expected
    assert [c.tokens for c in model.caption(val.images[:12])] == expected
    assert plot_results(tuner, tmp_path / "search.png") == tmp_path / "search.png"
    assert (tmp_path / "search.png").stat().st_size > 10_000


def test_out_of_memory_retries_with_half_the_batch_then_fails_alone(data, tmp_path, monkeypatch):
    train, val, vocabulary = data
    calls = []
    fit = Captioner.fit

    def fit_running_out_of_memory(self, *args, batch_size=None, **kwargs):
        calls.append(batch_size)
        if batch_size > 16 or len(calls) in (3, 4):  # trial 0: 32 fails, 16 runs; trial 1: 32 and 16 fail
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape [32,512]")
        return fit(self, *args, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(Captioner, "fit", fit_running_out_of_memory)
    tuner = make_tuner(small_hypermodel(vocabulary, dropout=None), "random", max_trials=3, max_epochs=1,
                       directory=tmp_path, verbose=0)
    tuner.search(train.subset(range(96)), validation_data=val, verbose=0)
    statuses = [tuner.oracle.trials[t].status for t in sorted(tuner.oracle.trials)]
    assert calls == [32, 16, 32, 16, 32, 16] and statuses == ["COMPLETED", "FAILED", "COMPLETED"]
    assert "Out of memory at batch size 32 and again at 16" in tuner.oracle.trials["1"].message
    assert trial_history(tuner, "0")[0]["batch_size"] == 16


def test_a_diverging_loss_stops_its_trial_with_a_finite_score(data, tmp_path, monkeypatch):
    train, val, vocabulary = data

    class PoisonWeights(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                for weight in self.model.decoder.trainable_weights[:1]:
                    weight.assign(np.full(weight.shape, np.nan, weight.dtype))

    tuner = make_tuner(small_hypermodel(vocabulary), "random", max_trials=1, max_epochs=3, directory=tmp_path,
                       verbose=0)
    tuner.search(train.subset(range(96)), validation_data=val, callbacks=[PoisonWeights()], verbose=0)
    trial = tuner.oracle.trials["0"]
    history = trial_history(tuner, "0")
    assert trial.status == "COMPLETED" and len(history) == 1 and math.isfinite(trial.score)
    assert not math.isfinite(history[0]["loss"])


def test_the_time_budget_stops_the_search_after_the_epoch_that_spends_it(data, tmp_path):
    train, val, vocabulary = data
    tuner = make_tuner(small_hypermodel(vocabulary), "random", max_trials=5, max_epochs=3, directory=tmp_path,
                       time_budget="1s", verbose=0)
    tuner.search(train.subset(range(96)), validation_data=val, verbose=0)
    assert len(tuner.oracle.trials) == 1 and len(trial_history(tuner, "0")) == 1


RESUMED_SEARCH = textwrap.dedent("""
    import sys
    from showattend import Vocabulary
    from showattend.datasets import shapes
    from showattend.tuning import CaptionHyperModel, make_tuner
    train, val = shapes("train", num_images=120, seed=0), shapes("val", num_images=20, seed=1)
    hypermodel = CaptionHyperModel(Vocabulary.build(train.all_captions(), min_count=1), backbones=["small_vgg"],
                                   image_size=(64, 64), units=int(sys.argv[2]), embed_dim=16, attention_dim=16,
                                   val_images=20, batch_size=32, attention="soft", cell=None)
    tuner = make_tuner(hypermodel, "random", max_trials=2, max_epochs=1, directory=sys.argv[1], verbose=1)
    tuner.search(train, validation_data=val, verbose=0)
    print("trials", sorted((t.trial_id, t.status) for t in tuner.oracle.trials.values()))
""")


def test_a_killed_search_resumes_and_a_changed_space_is_refused(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(RESUMED_SEARCH)
    directory = tmp_path / "tuning"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, str(script), str(directory), "32"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = directory / "search" / "trial_0" / "trial.json"
    deadline = time.time() + 300
    while time.time() < deadline and not (first.exists() and '"COMPLETED"' in first.read_text()):
        time.sleep(0.2)
    process.kill()
    process.wait()
    assert first.exists() and '"COMPLETED"' in first.read_text()
    score = __import__("json").loads(first.read_text())["score"]
    rerun = subprocess.run([sys.executable, str(script), str(directory), "32"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert re.search(r"Resuming the search .*: 1 finished trial kept, [01] unfinished trials? to rerun", rerun.stdout)
    assert "trials [('0', 'COMPLETED'), ('1', 'COMPLETED')]" in rerun.stdout
    assert __import__("json").loads(first.read_text())["score"] == score  # kept, not rerun
    changed = subprocess.run([sys.executable, str(script), str(directory), "64"], env=env, capture_output=True,
                             text=True, timeout=600)
    assert changed.returncode != 0
    assert "cannot resume: units changed from" in changed.stderr and "overwrite=True" in changed.stderr


class RecordPolicy(keras.callbacks.Callback):
    seen = []

    def on_train_begin(self, logs=None):
        RecordPolicy.seen.append((keras.config.dtype_policy().name, self.model.decoder.compute_dtype))


def test_mixed_precision_survives_clear_session_between_trials(data, tmp_path):
    train, val, vocabulary = data
    RecordPolicy.seen = []
    try:
        tuner = make_tuner(small_hypermodel(vocabulary, dropout=None, mixed_precision="mixed_bfloat16"), "random",
                           max_trials=2, max_epochs=1, directory=tmp_path, verbose=0)
        tuner.search(train.subset(range(100)), validation_data=val, callbacks=[RecordPolicy()], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert RecordPolicy.seen == [("mixed_bfloat16", "bfloat16")] * 2  # keras-tuner cleared the session in between
    assert all(t.status == "COMPLETED" and math.isfinite(t.score) for t in tuner.oracle.trials.values())


def test_an_empty_backbone_list_and_a_budget_of_zero_are_refused():
    from showattend.tuning.guards import parse_duration

    vocabulary = Vocabulary.build(shapes("train", 8).all_captions(), min_count=1)
    with pytest.raises(ValueError, match="backbones is empty"):
        CaptionHyperModel(vocabulary, backbones=[])
    everything = CaptionHyperModel(vocabulary, backbones=None, image_size=(32, 32)).backbones  # those usable at 32 px
    assert {"small_vgg", "resnet20", "highway11"} <= set(everything)
    for budget in (0, -5, 0.0):
        with pytest.raises(ValueError, match=f"must be positive, got {budget}"):
            parse_duration(budget)
    assert parse_duration(90) == 90.0 and parse_duration("2m") == 120.0


def test_results_table_puts_the_best_first_for_an_objective_to_minimise(tmp_path):
    class Widths(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [1, 8])),
                                      keras.layers.Dense(1)])
            model.compile("sgd", "mse")
            return model

    tuner = make_tuner(Widths(), "random", max_trials=2, max_epochs=1, objective=kt.Objective("val_loss", "min"),
                       directory=tmp_path, project_name="min", verbose=0)
    x = np.random.default_rng(0).normal(size=(16, 2))
    tuner.search(x, x[:, :1] * 3, validation_data=(x, x[:, :1] * 3), verbose=0)
    rows = results_table(tuner)
    assert len(rows) == 2 and rows[0]["score"] < rows[1]["score"]
    assert rows[0]["trial"] == tuner.oracle.get_best_trials(1)[0].trial_id
