"""FusedAdam: Keras' Adam arithmetic in TensorFlow's one-pass kernel."""
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from showattend import Captioner, Vocabulary, load_captioner
from showattend.datasets import shapes
from showattend.optimizers import FusedAdam

SHAPES = [(7, 5), (5,), (3, 4, 2)]


def run(optimizer, steps=5, seed=0, function=None):
    """The variables after ``steps`` updates with random dense gradients, as a flat array."""
    rng = np.random.default_rng(seed)
    variables = [keras.Variable(rng.normal(size=s).astype("float32")) for s in SHAPES]
    gradients = [[tf.constant(rng.normal(size=s).astype("float32")) for s in SHAPES] for _ in range(steps)]
    optimizer.build(variables)
    apply = function(lambda g: optimizer.apply(g, variables)) if function else lambda g: optimizer.apply(g, variables)
    for step in gradients:
        apply(step)
    return np.concatenate([v.numpy().ravel() for v in variables])


@pytest.mark.parametrize("arguments", [{}, {"global_clipnorm": 1.0}, {"amsgrad": True}, {"epsilon": 0.5},
                                       {"beta_1": 0.5, "beta_2": 0.7}])
def test_the_same_updates_as_keras_adam(arguments):
    rate = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1, decay_rate=0.5)
    expected = run(keras.optimizers.Adam(rate, **arguments))
    start = run(keras.optimizers.Adam(rate, **arguments), steps=0)
    fused = run(FusedAdam(rate, **arguments))
    assert np.abs(expected - start).max() > 1e-3  # the steps moved the variables (1000× the tolerance)
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)


def test_under_xla_as_without():
    plain = run(FusedAdam(1e-2))
    np.testing.assert_allclose(run(FusedAdam(1e-2), function=lambda f: tf.function(f, jit_compile=True)), plain,
                               rtol=1e-5, atol=1e-6)


def test_a_sparse_gradient_with_repeated_rows_is_summed_before_it_is_squared():
    """An embedding's gradient names a word once per occurrence. Adam's second moment is that of the
    summed gradient (Keras' own Adam squares each occurrence: 1² + 3² for a word seen twice, not 4²)."""
    sparse = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, -1.0]]), tf.constant([0, 0]), tf.constant([3, 2]))
    moments = {}
    for name, gradient in (("sparse", sparse), ("dense", tf.convert_to_tensor(sparse))):
        variable = keras.Variable(np.zeros((3, 2), "float32"))
        optimizer = FusedAdam(0.1)
        optimizer.build([variable])
        optimizer.apply([gradient], [variable])
        moments[name] = optimizer._velocities[0].numpy()
        np.testing.assert_allclose(variable.numpy(), [[-0.1, -0.1], [0, 0], [0, 0]], atol=1e-6)  # first step: ±rate
    np.testing.assert_allclose(moments["sparse"][0], [0.001 * 16, 0.001 * 1], rtol=1e-4)  # 1 − β₂ in float32
    np.testing.assert_array_equal(moments["sparse"], moments["dense"])


def test_a_captioner_compiled_with_adam_uses_it_and_reloads_with_it(tmp_path):
    data = shapes("train", 8, image_size=32, seed=0)
    model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=8, embed_dim=8,
                      attention_dim=8, image_size=(32, 32), max_length=6)
    model.compile(optimizer="adam", jit_compile=False)
    assert isinstance(model.optimizer, FusedAdam)
    model.fit(data, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "model.keras")
    again = load_captioner(tmp_path / "model.keras")
    assert type(again.optimizer) is FusedAdam
    assert int(again.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0
    np.testing.assert_array_equal(again.optimizer.variables[-1].numpy(), model.optimizer.variables[-1].numpy())


def test_the_first_fit_traces_the_training_step_once(monkeypatch):
    # Optimizer variables made inside the first trace make TensorFlow trace the step again
    traces = []
    train_step = Captioner.train_step
    monkeypatch.setattr(Captioner, "train_step", lambda self, data: traces.append(1) or train_step(self, data))
    data = shapes("train", 8, image_size=32, seed=0)
    model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=8, embed_dim=8,
                      attention_dim=8, image_size=(32, 32), max_length=6)
    model.compile(optimizer="adam", jit_compile=False)
    model.fit(data, epochs=2, batch_size=4, verbose=0)
    assert len(traces) == 1 and int(model.optimizer.iterations.numpy()) > 0


def test_a_saved_captioner_loads_in_a_fresh_process_that_only_imports_showattend(tmp_path):
    """What `showattend caption model.keras` does: nothing but showattend imported before loading."""
    data = shapes("train", 8, image_size=32, seed=0)
    model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=8, embed_dim=8,
                      attention_dim=8, image_size=(32, 32), max_length=6)
    model.compile(optimizer="adam", jit_compile=False)
    model.fit(data, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "model.keras")
    code = ("import sys, keras, showattend; m = keras.saving.load_model(sys.argv[1]); "
            "print(type(m.optimizer).__name__, int(m.optimizer.iterations.numpy()))")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.keras")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-2:] == ["FusedAdam", str(int(model.optimizer.iterations.numpy()))]
