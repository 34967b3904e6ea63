"""The unrolled decoder takes its per-step weight gradients once over all steps (StepProducts):
the gradients must be those of the plain per-step products."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from showattend.decoders import LSTMDecoder
from showattend.layers.step_products import StepProducts, transposed

RNG = np.random.default_rng(0)


def test_step_products_give_the_gradients_of_plain_products():
    steps, batch = 4, 3
    kernels = [tf.Variable(RNG.normal(size=(5, 6)).astype("float32")),
               tf.Variable(RNG.normal(size=(2, 6)).astype("float32"))]
    xs = [tf.constant(RNG.normal(size=(batch, 5)).astype("float32")) for _ in range(steps)]
    h0 = tf.constant(RNG.normal(size=(batch, 2)).astype("float32"))
    mix = tf.constant(RNG.normal(size=(6, 2)).astype("float32"))

    def run(deferred):
        with tf.GradientTape() as tape:
            tape.watch(xs + [h0])
            products = StepProducts([tf.convert_to_tensor(k) for k in kernels], steps, batch) if deferred else None
            h, loss = h0, 0.0
            for t in range(steps):  # a recurrence: each step's h is the next step's second input
                z = products(xs[t], h) if deferred else xs[t] @ kernels[0] + h @ kernels[1]
                h = tf.tanh(z @ mix)
                loss += tf.reduce_sum(tf.sin(z)) * (t + 1)
        return [g.numpy() for g in tape.gradient(loss, kernels + xs + [h0])]

    for got, want in zip(run(True), run(False)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.abs(run(False)[0]).max() > 1.0  # the gradients compared are not all zero


def test_step_products_refuse_more_calls_than_steps():
    products = StepProducts([tf.ones((2, 3))], steps=1, batch=1)
    products(tf.ones((1, 2)))
    with pytest.raises(RuntimeError, match="1 steps"):
        products(tf.ones((1, 2)))


def test_transposed_copy_is_the_transpose():
    m = RNG.normal(size=(3, 5)).astype("float32")
    np.testing.assert_array_equal(transposed(tf.constant(m)).numpy(), m.T)


@pytest.mark.parametrize("cell,score", [("lstm", "additive"), ("peephole_lstm", "dot"), ("cifg_lstm", "general"),
                                        ("gru", "additive")])
def test_unrolled_decoder_gradients_equal_the_scanned_decoder(cell, score):
    """The unrolled pass (StepProducts) against the scan path (plain per-step products): same loss
    and same gradient for every weight, for each cell and score."""
    keras.utils.set_random_seed(0)
    decoder = LSTMDecoder(vocab_size=11, embed_dim=6, units=8, attention_dim=5, dropout=0.0, cell=cell,
                               attention_score=score)
    features = RNG.normal(size=(3, 7, 4)).astype("float32")
    tokens = RNG.integers(0, 11, size=(3, 6)).astype("int32")
    decoder(features, tokens)
    targets = tf.one_hot(RNG.integers(0, 11, size=(3, 6)), 11)

    def gradients(unroll_limit):
        decoder.unroll_limit = unroll_limit
        with tf.GradientTape() as tape:
            out = decoder(features, tokens, training=True)
            loss = tf.reduce_mean(keras.losses.categorical_crossentropy(targets, out["logits"], from_logits=True))
            loss += 0.3 * tf.reduce_sum(tf.square(1.0 - tf.reduce_sum(out["alpha"], axis=1)))
        return loss.numpy(), [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, decoder.trainable_weights)]

    unrolled_loss, unrolled = gradients(64)
    scanned_loss, scanned = gradients(0)
    np.testing.assert_allclose(unrolled_loss, scanned_loss, rtol=1e-6)
    names = [w.path for w in decoder.trainable_weights]
    for name, got, want in zip(names, unrolled, scanned):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=name)
    recurrent = [g for n, g in zip(names, unrolled) if "recurrent_kernel" in n or "hidden_projection" in n]
    assert recurrent and all(np.abs(g).max() > 1e-3 for g in recurrent)
