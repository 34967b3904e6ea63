import keras
import numpy as np
import pytest
import tensorflow as tf

from showattend import Captioner, load_captioner
from showattend.losses import reinforce_surrogate

SMALL = dict(embed_dim=16, units=32, attention_dim=16, max_length=12, dropout=0.0)


def test_surrogate_gradient_is_the_reinforce_estimate_by_hand():
    """Two steps, three regions, fixed samples: ∂surrogate/∂e = −[λ_r (log p(y|s) − b) ∂log p(s)/∂e + λ_e ∂H/∂e]."""
    e = tf.Variable([[0.2, -0.5, 1.0], [1.5, 0.0, -1.0]])
    samples = np.array([0, 2])
    log_likelihood, baseline, lr, le = -1.5, -1.0, 0.1, 0.002
    with tf.GradientTape() as tape:
        log_alpha = tf.nn.log_softmax(e)
        alpha = tf.exp(log_alpha)
        log_p = tf.reduce_sum(tf.gather(log_alpha, samples, batch_dims=1))
        entropy = -tf.reduce_sum(alpha * log_alpha)
        loss = reinforce_surrogate(tf.constant(log_likelihood), log_p, entropy, baseline, lr, le)
    got = tape.gradient(loss, e).numpy()
    a = np.exp(e.numpy()) / np.exp(e.numpy()).sum(-1, keepdims=True)
    d_log_p = np.eye(3)[samples] - a  # ∂ log α_{t,s_t} / ∂ e_{t,j}
    h = -(a * np.log(a)).sum(-1, keepdims=True)
    d_entropy = -a * (np.log(a) + h)  # ∂ H(α_t) / ∂ e_{t,j}
    want = -(lr * (log_likelihood - baseline) * d_log_p + le * d_entropy)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # a sample that explains the caption worse than the baseline is made less likely by descent
    assert got[0, 0] > 0 and got[1, 2] > 0


def _batch(model, data):
    inputs, targets = next(iter(model.make_dataset(data, batch_size=32, shuffle=False)))
    return inputs, targets


def test_baseline_update_and_its_save_load(vocabulary, small_data, tmp_path):
    """b is the moving average of log p(y|s) per word, updated on sampled minibatches only, and a
    caption of n words is compared with n·b."""
    model = Captioner("small_vgg", vocabulary, attention="hard", expectation_probability=0.0, seed=1, **SMALL)
    assert model.decoder.reinforce_baseline.trainable is False
    inputs, targets = _batch(model, small_data)
    model.decoder.reinforce_baseline.assign(-2.0)
    y_pred = model(inputs, training=True)  # expectation_probability 0: this minibatch samples
    y = tf.reshape(targets, (-1, targets.shape[-1]))
    mask = tf.cast(y != 0, "float32")
    token_loss = keras.losses.sparse_categorical_crossentropy(y, y_pred["logits"], from_logits=True)
    per_word = float(-tf.reduce_sum(token_loss * mask) / tf.reduce_sum(mask))
    model.compute_loss(y=targets, y_pred=y_pred, training=False)
    assert float(model.decoder.reinforce_baseline.numpy()) == -2.0  # evaluation leaves it alone
    reinforce = next(m for m in model.loss_trackers if m.name == "reinforce")
    reinforce.reset_state()
    model.compute_loss(y=targets, y_pred=y_pred, training=True)
    assert float(model.decoder.reinforce_baseline.numpy()) == pytest.approx(0.9 * -2.0 + 0.1 * per_word, rel=1e-5)
    log_likelihood = -tf.reduce_sum(token_loss * mask, 1)
    words = tf.reduce_sum(mask, 1)
    log_p = tf.reduce_sum(tf.cast(y_pred["log_p_region"], "float32") * mask, 1)
    entropy = tf.reduce_sum(y_pred["entropy"] * mask, 1)
    is_caption = tf.cast(words > 0, "float32")
    want = reinforce_surrogate(log_likelihood, log_p, entropy, -2.0 * words)  # the baseline before the update
    assert float(reinforce.result()) == pytest.approx(float(tf.reduce_sum(want * is_caption) / tf.reduce_sum(is_caption)),
                                                      rel=1e-5)
    expectation = model(inputs, training=False)  # reads the expectation: the baseline does not move
    before = float(model.decoder.reinforce_baseline.numpy())
    model.compute_loss(y=targets, y_pred=expectation, training=True)
    assert float(model.decoder.reinforce_baseline.numpy()) == before
    model.save(tmp_path / "hard.keras")
    again = load_captioner(tmp_path / "hard.keras")
    assert float(again.decoder.reinforce_baseline.numpy()) == pytest.approx(before)
    assert again.decoder.options["attention"] == "hard" and again.decoder.options["reinforce_weight"] == 0.1


def test_with_expectation_probability_one_hard_is_soft(vocabulary, small_data):
    keras.utils.set_random_seed(0)
    soft = Captioner("small_vgg", vocabulary, doubly_stochastic=1.0, **SMALL)
    hard = Captioner("small_vgg", vocabulary, attention="hard", expectation_probability=1.0, doubly_stochastic=1.0,
                     **SMALL)
    hard.backbone.set_weights(soft.backbone.get_weights())
    for mine, theirs in zip(hard.decoder.trainable_weights, soft.decoder.trainable_weights):  # hard adds a baseline
        mine.assign(theirs)
    inputs, targets = _batch(soft, small_data)
    results = []
    for model in (soft, hard):
        with tf.GradientTape() as tape:
            y_pred = model(inputs, training=True)
            loss = model.compute_loss(y=targets, y_pred=y_pred, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
        results.append((float(loss), [np.asarray(tf.convert_to_tensor(g)) for g in grads], y_pred))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    assert float(np.max(results[1][2]["sampled"])) == 0.0
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_training_samples_regions_and_reads_the_expectation_half_the_time(vocabulary, small_data):
    model = Captioner("small_vgg", vocabulary, attention="hard", seed=1, **SMALL)
    inputs, _ = _batch(model, small_data)
    coins = []
    for _ in range(40):
        out = model(inputs, training=True)
        sampled = float(out["sampled"][0])
        coins.append(sampled)
        regions = np.asarray(out["regions"])
        if sampled:
            assert regions.min() >= 0 and regions.max() < model.num_regions
            alpha = np.asarray(out["alpha"])
            chosen = np.take_along_axis(np.log(alpha), regions[..., None], -1)[..., 0]
            np.testing.assert_allclose(np.asarray(out["log_p_region"]), chosen, rtol=1e-4, atol=1e-5)
        else:
            assert (regions == -1).all() and np.all(np.asarray(out["log_p_region"]) == 0)
    assert 8 <= sum(coins) <= 32  # Binomial(40, 0.5)
    evaluation = model(inputs, training=False)
    assert float(np.max(evaluation["sampled"])) == 0.0


def test_hard_captions_read_the_expectation_or_one_region(vocabulary, small_data, captioner):
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, attention="hard", seed=0, **SMALL)
    images = small_data.images[:3]
    plain = model.caption(images, beam_size=2, return_attention=True)
    assert all(c.regions is None for c in plain)
    for c in model.caption(images, beam_size=1, argmax=True, return_attention=True):
        assert c.regions.shape == (len(c.tokens), 2)
        flat = c.attention.reshape(len(c.tokens), -1).argmax(-1)
        np.testing.assert_array_equal(np.ravel_multi_index(c.regions.T, model.grid_shape), flat)
        assert c.to_dict()["regions"] == c.regions.tolist()
    for c in model.caption(images, beam_size=2, sample=True):
        assert c.regions.shape == (len(c.tokens), 2) and (c.regions >= 0).all() and (c.regions < 8).all()
    with pytest.raises(ValueError, match="need a model built with attention='hard'"):
        captioner.caption(images, sample=True)
    with pytest.raises(ValueError, match="one of sample=True and argmax=True"):
        model.caption(images, sample=True, argmax=True)
    with pytest.raises(ValueError, match="Unknown attention 'stochastic'. Accepted: soft, hard"):
        Captioner("small_vgg", vocabulary, attention="stochastic")
