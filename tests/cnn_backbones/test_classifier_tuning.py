import os
import subprocess
import sys

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine.hyperparameters import Choice, Fixed, Float

from cnn_backbones.tuning import OBJECTIVE, BackboneHyperModel

COLOURS = np.array([[230, 40, 40], [40, 200, 40], [40, 80, 230], [230, 210, 40]], "float32")


def coloured_squares(n, size=32, seed=0):
    """A square of the class's colour (red, green, blue, yellow) at a random place, on dark noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 80, (n, size, size, 3)).astype("float32")
    y = rng.integers(0, len(COLOURS), n)
    for i, label in enumerate(y):
        side = rng.integers(size // 3, 2 * size // 3)
        row, col = rng.integers(0, size - side, 2)
        x[i, row:row + side, col:col + side] = COLOURS[label]
    return x, y


def _space(hypermodel, tmp_path):
    tuner = keras_tuner.RandomSearch(hypermodel, objective=OBJECTIVE, max_trials=1, directory=tmp_path)
    return tuner, tuner.oracle.get_space()


def _by_name(space):
    return {hp.name: hp for hp in space.space}


def test_search_space_names_and_defaults(tmp_path, capsys):
    tuner, space = _space(BackboneHyperModel(4, (32, 32, 3)), tmp_path)
    hps = _by_name(space)
    assert len(hps) == len(space.space)  # every name declared once
    assert list(hps["family"].values) == ["vgg", "resnet", "densenet", "googlenet", "highway"]
    assert hps["family"].default == "vgg"
    assert list(hps["highway/depth"].values) == ["highway11", "highway19", "highway32"]
    assert [hps[f"{f}/depth"].default for f in hps["family"].values] == \
        ["small_vgg", "resnet20", "small_densenet", "small_googlenet", "highway19"]
    assert hps["highway/depth"].default == "highway19" and hps["highway/gate_bias"].default == -2.0
    assert (hps["highway/gate_bias"].min_value, hps["highway/gate_bias"].max_value) == (-4.0, -1.0)
    assert hps["vgg/stage_widths"].default == "16-32-64" and hps["highway/stage_widths"].default == "32-64-128"
    assert hps["densenet/growth_rate"].default == 12 and hps["googlenet/dropout"].default == 0.4
    assert hps["learning_rate"].default == 1e-3 and hps["learning_rate"].sampling == "log"
    assert "googlenet/aux_heads" not in hps  # 32 px: its aux layers' grid is under 5×5
    assert "resnet/feature_stage" not in hps  # no ImageNet-size resnet is usable at 32 px
    tuner.search_space_summary()
    assert "highway/gate_bias (Float)" in capsys.readouterr().out

    _, space = _space(BackboneHyperModel(4, (48, 48, 3), families=["googlenet"]), tmp_path / "g")
    hps = _by_name(space)
    assert hps["googlenet/aux_heads"].default is True and hps["googlenet/aux_weight"].default == 0.3
    assert list(hps["googlenet/depth"].values) == ["small_googlenet"]

    _, space = _space(BackboneHyperModel(4, (224, 224, 3), families=["resnet"]), tmp_path / "r")
    hps = _by_name(space)
    assert list(hps["resnet/depth"].values) == ["resnet20", "resnet18", "resnet34", "resnet50", "resnet101",
                                                "resnet152"]
    assert hps["resnet/feature_stage"].default == 5


def test_conditional_hyperparameters_are_active_only_under_their_parent():
    space = keras_tuner.HyperParameters()
    BackboneHyperModel(4, (48, 48, 3)).declare_hyperparameters(space)
    hps = _by_name(space)
    space.values.update({"family": "vgg", "vgg/depth": "small_vgg"})
    assert not space.is_active(hps["highway/gate_bias"]) and not space.is_active(hps["highway/depth"])
    assert space.is_active(hps["vgg/stage_widths"])
    space.values.update({"family": "highway", "highway/depth": "highway32"})
    assert space.is_active(hps["highway/gate_bias"]) and not space.is_active(hps["vgg/stage_widths"])
    space.values.update({"family": "googlenet", "googlenet/depth": "small_googlenet", "googlenet/aux_heads": False})
    assert space.is_active(hps["googlenet/aux_heads"]) and not space.is_active(hps["googlenet/aux_weight"])
    space.values["googlenet/aux_heads"] = True
    assert space.is_active(hps["googlenet/aux_weight"])


def test_fixed_values_pin_and_hyperparameter_objects_set_ranges(tmp_path):
    hypermodel = BackboneHyperModel(4, (32, 32, 3), families=["vgg", "highway"], dropout=0.2, learning_rate=1e-3,
                                    stage_widths=(8, 16, 32), gate_bias=Float("any", -3.0, -2.0, default=-2.5))
    _, space = _space(hypermodel, tmp_path)
    hps = _by_name(space)
    assert isinstance(hps["learning_rate"], Fixed) and hps["learning_rate"].value == 1e-3
    assert [hps[f"{f}/dropout"].value for f in ("vgg", "highway")] == [0.2, 0.2]
    assert hps["vgg/stage_widths"].value == "8-16-32"
    assert (hps["highway/gate_bias"].min_value, hps["highway/gate_bias"].max_value) == (-3.0, -2.0)
    assert hps["highway/gate_bias"].default == -2.5 and hps["highway/gate_bias"].conditions  # still conditional

    hypermodel = BackboneHyperModel(4, (32, 32, 3), family="resnet", **{"resnet/dropout": 0.3})
    _, space = _space(hypermodel, tmp_path / "r")
    assert space.values == {"family": "resnet", "resnet/depth": "resnet20", "resnet/dropout": 0.3,
                            "learning_rate": 1e-3}
    assert isinstance(_by_name(space)["family"], Fixed)
    depths = Choice("depth", ["highway11", "highway32"], default="highway32")
    _, space = _space(BackboneHyperModel(4, (32, 32, 3), depth=depths), tmp_path / "h")
    assert space.values["family"] == "highway" and space.values["highway/gate_bias"] == -3.0  # highway32's


def test_pinned_options_reach_the_backbone():
    hypermodel = BackboneHyperModel(4, (32, 32, 3), family="highway", depth="highway11", gate_bias=-3.5,
                                    stage_widths="8-16-32", learning_rate=2e-3)
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert float(keras.ops.mean(model.get_layer("stage1_highway1_gate").bias)) == pytest.approx(-3.5)
    assert model.get_layer("stage3_highway2").output.shape[-1] == 32
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-3)
    assert model.output_shape == (None, 4)


def test_invalid_arguments_name_the_bad_value():
    with pytest.raises(ValueError, match="Unknown hyperparameter 'dropout_rate'. Accepted: family, learning_rate"):
        BackboneHyperModel(4, (32, 32, 3), dropout_rate=0.1)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2, got 1"):
        BackboneHyperModel(1, (32, 32, 3))
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, 3\).*got \(32, 32\)"):
        BackboneHyperModel(4, (32, 32))
    with pytest.raises(ValueError, match="families must be .* from densenet, .*got \\['vgg16'\\].*depth="):
        BackboneHyperModel(4, (32, 32, 3), families=["vgg16"])
    with pytest.raises(ValueError, match="No resnet backbone is usable at \\(16, 16, 3\\)"):
        BackboneHyperModel(4, (16, 16, 3), families=["resnet"])
    with pytest.raises(ValueError, match="depth 'resnet50' must name .*usable at \\(64, 64, 3\\).*: resnet20"):
        BackboneHyperModel(4, (64, 64, 3), depth="resnet50")
    with pytest.raises(ValueError, match="aux_heads does not apply .* at \\(32, 32, 3\\)"):
        BackboneHyperModel(4, (32, 32, 3), families=["googlenet"], aux_heads=True)
    with pytest.raises(ValueError, match="family 'vgg' is not searched; families: resnet"):
        BackboneHyperModel(4, (32, 32, 3), families=["resnet"], family="vgg")


def test_fit_rejects_labels_it_cannot_use():
    hypermodel = BackboneHyperModel(4, (32, 32, 3), family="vgg")
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    x, y = coloured_squares(8)
    cases = {r"y must be integer class ids of shape \(N,\), got shape \(8, 4\) and dtype float32 \(one-hot":
             np.eye(4, dtype="float32")[y], "got shape \\(8,\\) and dtype float64": y.astype("float64"),
             "labels \\[4, 5\\] outside 0..3 \\(num_classes=4\\)": np.array([0, 1, 4, 5, 2, 3, 3, 1])}
    for message, labels in cases.items():
        with pytest.raises(ValueError, match=message):
            hypermodel.fit(hp, model, x, labels, epochs=1)
    with pytest.raises(ValueError, match=r"shape \(N, \*\(32, 32, 3\)\) with N = 8 labels, got \(8, 16, 16, 3\)"):
        hypermodel.fit(hp, model, x[:, :16, :16], y, epochs=1)
    with pytest.raises(ValueError, match="validation labels has labels \\[9\\]"):
        hypermodel.fit(hp, model, x, y, validation_data=(x[:2], np.array([9, 0])), epochs=1)
    with pytest.raises(ValueError, match="Pass validation_data or a validation_split"):
        hypermodel.fit(hp, model, x, y, validation_split=0.0, epochs=1)


class _EagerHyperModel(BackboneHyperModel):
    """Runs eagerly: tracing GoogLeNet's three heads costs 13 s on 2 cores, two eager steps 3 s."""

    def build(self, hp):
        model = super().build(hp)
        model.run_eagerly = True
        return model


def test_aux_head_trials_report_val_accuracy_and_export_a_plain_model(tmp_path):
    hypermodel = _EagerHyperModel(4, (40, 40, 3), family="googlenet", aux_heads=True, aux_weight=0.5)
    tuner = keras_tuner.RandomSearch(hypermodel, objective=OBJECTIVE, max_trials=1, directory=tmp_path)
    x, y = coloured_squares(32, size=40)
    tuner.search(x, y, validation_data=coloured_squares(16, size=40, seed=1), epochs=1, batch_size=16, verbose=0)
    trial = tuner.oracle.get_best_trials(1)[0]
    assert trial.status == "COMPLETED" and 0.0 <= trial.score <= 1.0  # no val_accuracy: the trial is invalid
    assert trial.score == trial.metrics.get_last_value("val_logits_accuracy")
    model = hypermodel.build(trial.hyperparameters)
    assert sorted(model.output) == ["aux1", "aux2", "logits"]
    assert model.get_compile_config()["loss_weights"] == {"aux1": 0.5, "aux2": 0.5, "logits": 1.0}
    plain = hypermodel.export_model(model)
    assert plain.output_shape == (None, 4) and hypermodel.export_model(plain) is plain
    np.testing.assert_allclose(plain(x[:4]), model(x[:4])["logits"], atol=1e-5)


def test_random_search_beats_chance(tmp_path):
    # BN nets (small_vgg) need batch 8 here: with fewer steps their moving statistics lag behind the weights.
    hypermodel = BackboneHyperModel(4, (32, 32, 3), families=["vgg", "highway"], stage_widths="16-32-64",
                                    learning_rate=Float("learning_rate", 1e-3, 1e-2, sampling="log"))
    tuner = keras_tuner.RandomSearch(hypermodel, objective=OBJECTIVE, max_trials=3, seed=0, directory=tmp_path)
    x, y = coloured_squares(320, seed=0)
    tuner.search(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    assert trials[0].score > 1 / 4 + 0.45  # seeds 0-3 (tuner and data): 0.96-1.0; fresh images 0.955-1.0
    x_test, y_test = coloured_squares(200, seed=7)
    model = hypermodel.export_model(tuner.get_best_models(1)[0])
    assert np.mean(model.predict(x_test, verbose=0).argmax(-1) == y_test) > 1 / 4 + 0.45


def test_importing_cnn_backbones_does_not_import_keras_tuner():
    code = "import sys, cnn_backbones; assert 'keras_tuner' not in sys.modules; assert 'showattend' not in sys.modules"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
