import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from showattend.losses import doubly_stochastic_penalty
from showattend.decoders import LSTMDecoder
from showattend.layers import LSTMCell


def _decoder(**kw):
    keras.utils.set_random_seed(1)
    return LSTMDecoder(vocab_size=11, embed_dim=6, units=8, attention_dim=5, dropout=0.0, **kw)


def test_output_shapes_and_alpha_sums_to_one():
    decoder = _decoder()
    features = np.random.default_rng(0).normal(size=(3, 12, 7)).astype("float32")
    tokens = np.random.default_rng(1).integers(0, 11, size=(3, 5))
    out = decoder(features, tokens)
    assert tuple(out["logits"].shape) == (3, 5, 11)
    assert tuple(out["alpha"].shape) == (3, 5, 12) and tuple(out["beta"].shape) == (3, 5)
    np.testing.assert_allclose(ops.sum(out["alpha"], -1), 1.0, atol=1e-5)
    beta = ops.convert_to_numpy(out["beta"])
    assert ((beta > 0) & (beta < 1)).all()


def test_unrolled_and_scanned_recurrences_agree():
    decoder = _decoder()  # no dropout: training=True then changes only the path taken
    features = np.random.default_rng(2).normal(size=(2, 6, 7)).astype("float32")
    tokens = np.random.default_rng(3).integers(0, 11, size=(2, 4))
    unrolled = decoder(features, tokens, training=True)
    scanned = decoder(features, tokens, training=False)  # a forward pass alone always scans
    decoder.unroll_limit = 0
    scanned_in_training = decoder(features, tokens, training=True)
    decoder.unroll_limit = LSTMDecoder.unroll_limit
    for key in unrolled:
        np.testing.assert_allclose(unrolled[key], scanned[key], atol=1e-5)
        np.testing.assert_allclose(unrolled[key], scanned_in_training[key], atol=1e-5)


@pytest.mark.parametrize("training,loops", [(True, 0), (False, 1), (None, 1)])
def test_training_unrolls_the_recurrence_and_a_forward_pass_alone_scans_it(training, loops):
    decoder = _decoder()
    features = tf.zeros((2, 6, 7))
    tokens = tf.zeros((2, 4), "int32")
    graph = tf.function(lambda: decoder(features, tokens, training=training)).get_concrete_function().graph
    assert sum(op.type in ("While", "StatelessWhile") for op in graph.get_operations()) == loops


def test_step_by_step_decoding_equals_teacher_forcing():
    decoder = _decoder()
    features = np.random.default_rng(4).normal(size=(2, 6, 7)).astype("float32")
    tokens = np.array([[1, 4, 5, 6], [1, 7, 8, 0]])
    out = decoder(features, tokens)
    state, context = decoder.initial_state(features), decoder.context(features)
    for t in range(tokens.shape[1]):
        logits, state, extras = decoder.step(tokens[:, t], state, context)
        assert (np.asarray(extras["region"]) == -1).all()  # soft attention reads the expectation
        np.testing.assert_allclose(logits, out["logits"][:, t], atol=1e-5)
        np.testing.assert_allclose(extras["alpha"], out["alpha"][:, t], atol=1e-6)
        np.testing.assert_allclose(extras["beta"], out["beta"][:, t], atol=1e-6)


def test_without_gate_beta_is_one():
    out = _decoder(gate=False)(np.ones((1, 4, 7), "float32"), np.ones((1, 3), "int32"))
    np.testing.assert_allclose(out["beta"], 1.0)


def test_lstm_cell_matches_its_equations():
    cell = LSTMCell(3)
    x = np.random.default_rng(5).normal(size=(2, 4)).astype("float32")
    h0 = np.random.default_rng(6).normal(size=(2, 3)).astype("float32")
    c0 = np.random.default_rng(7).normal(size=(2, 3)).astype("float32")
    h, c = cell(x, (h0, c0))
    z = x @ cell.kernel.numpy() + h0 @ cell.recurrent_kernel.numpy() + cell.bias.numpy()
    i, f, o, g = np.split(z, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c_expected = sigmoid(f) * c0 + sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(c, c_expected, atol=1e-5)
    np.testing.assert_allclose(h, sigmoid(o) * np.tanh(c_expected), atol=1e-5)
    np.testing.assert_allclose(cell.bias.numpy()[3:6], 1.0)  # forget gate bias


def test_doubly_stochastic_penalty_on_hand_made_alpha():
    alpha = np.array([[[0.5, 0.5, 0.0], [0.2, 0.2, 0.6], [0.0, 1.0, 0.0]]], "float32")  # (1, 3 steps, 3)
    full = np.ones((1, 3), "float32")
    # coverage = (0.7, 1.7, 0.6) → (0.3)² + (0.7)² + (0.4)²
    assert float(doubly_stochastic_penalty(alpha, full)[0]) == pytest.approx(0.09 + 0.49 + 0.16, abs=1e-6)
    first_two = np.array([[1, 1, 0]], "float32")
    # coverage = (0.7, 0.7, 0.6) → 0.09 + 0.09 + 0.16
    assert float(doubly_stochastic_penalty(alpha, first_two)[0]) == pytest.approx(0.34, abs=1e-6)
