"""Mixed precision: training with loss scaling, α/β/logits/loss in float32, captions that agree with
the float32 model's, and saved models that reload with their policy."""
import keras
import numpy as np
import pytest

from showattend import Captioner, Vocabulary, load_captioner
from showattend.datasets import shapes

SETTINGS = dict(embed_dim=32, units=64, attention_dim=32, max_length=16, seed=1)


@pytest.fixture
def policy(request):
    """Run the test under a global policy, and restore float32 after it."""
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def data():
    train = shapes("train", num_images=400, seed=0)
    return train, shapes("test", num_images=100, seed=2), Vocabulary.build(train.all_captions(), min_count=1)


@pytest.fixture(scope="module")
def float32_model(data):
    train, _, vocabulary = data
    keras.utils.set_random_seed(1)
    model = Captioner("small_vgg", vocabulary, **SETTINGS)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(train, epochs=6, batch_size=32, verbose=0)
    return model


def _log_probs(model, images, ids):
    out = model({"images": images, "tokens": ids[:, :-1]})
    return np.asarray(keras.ops.log_softmax(keras.ops.cast(out["logits"], "float32"), axis=-1))


# Beam search amplifies rounding: one word that flips between near-equal candidates changes the rest of the
# caption. bfloat16 keeps 8 bits of mantissa: the float32 model's own captions agreed 0.95 at TensorFlow's
# default threads and 0.89 with one thread (other sums), while word by word it chose the same next word at
# 99.8 % and 99.9 % of the steps; float16 agreed 1.0 and 0.99 (every step the same).
CAPTIONS_AGREE = {"mixed_bfloat16": 0.85, "mixed_float16": 0.95}


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_captions_agree_with_the_float32_models(data, float32_model, policy):
    _, test, vocabulary = data
    mixed = Captioner("small_vgg", vocabulary, **SETTINGS)
    mixed.set_weights(float32_model.get_weights())
    assert mixed.decoder.compute_dtype == policy.split("_")[1] and mixed.decoder.variable_dtype == "float32"
    expected = [c.tokens for c in float32_model.caption(test.images, beam_size=3)]
    captions = mixed.caption(test.images, beam_size=3, return_attention=True)
    agreement = np.mean([c.tokens == e for c, e in zip(captions, expected)])
    assert agreement >= CAPTIONS_AGREE[policy], agreement
    # word by word, on the float32 model's captions: the same next word, and nearly the same log-probabilities
    rows = [vocabulary.encode(" ".join(tokens), add_start_end=True) for tokens in expected]
    ids = np.zeros((len(rows), max(map(len, rows))), "int32")
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
    words = ids[:, 1:] != vocabulary.pad_id
    ref, got = _log_probs(float32_model, test.images, ids), _log_probs(mixed, test.images, ids)
    assert np.mean((got.argmax(-1) == ref.argmax(-1))[words]) >= 0.99  # measured: 0.998 (bfloat16), 1.0 (float16)
    change = np.abs(np.take_along_axis(got - ref, ids[:, 1:, None], axis=-1)[..., 0][words])
    assert change.mean() < 0.01 and change.max() < 0.25, (change.mean(), change.max())  # bfloat16: 0.0016, 0.051
    for caption in captions:  # α and β come out in float32 and α still sums to one
        assert caption.attention.dtype == np.float32
        np.testing.assert_allclose(caption.attention.sum(axis=(1, 2)), 1.0, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_training_keeps_softmax_beta_and_loss_in_float32(data, policy, attention):
    train, _, vocabulary = data
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, attention=attention, **SETTINGS)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    if policy == "mixed_float16":  # Keras scales the loss so that float16 gradients do not underflow
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    batch = next(iter(model.make_dataset(train.subset(range(32)), batch_size=16)))
    outputs = model(batch[0], training=True)
    assert model.decoder.cell.compute_dtype == model.backbone.compute_dtype == policy.split("_")[1]
    assert outputs["logits"].dtype == "float32"  # the last layer, L_o, computes in float32
    assert outputs["alpha"].dtype == "float32" and outputs["beta"].dtype == "float32"
    assert model.compute_loss(batch[0], batch[1], outputs).dtype == "float32"
    history = model.fit(train.subset(range(200)), epochs=2, batch_size=32, verbose=0).history
    assert all(np.isfinite(history["loss"])) and history["cross_entropy"][1] < history["cross_entropy"][0]


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_a_saved_mixed_precision_model_reloads_with_its_policy(data, float32_model, policy, tmp_path):
    _, test, vocabulary = data
    model = Captioner("small_vgg", vocabulary, **SETTINGS)
    model.set_weights(float32_model.get_weights())
    model.compile(optimizer="adam")
    model.save(tmp_path / "mixed.keras")
    keras.mixed_precision.set_global_policy("float32")  # a new session, with the default policy
    again = load_captioner(tmp_path / "mixed.keras")
    assert again.decoder.dtype_policy.name == "mixed_bfloat16" and again.decoder.compute_dtype == "bfloat16"
    computing = [layer for layer in again.backbone.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.dtype_policy.name for layer in computing} == {"mixed_bfloat16"}
    decoder = again.decoder  # its inner layers too, though the session's global policy is float32
    assert {layer.compute_dtype for layer in (decoder.embedding, decoder.attention, decoder.cell,
                                              decoder.output_hidden)} == {"bfloat16"}
    assert decoder.output_logits.compute_dtype == "float32"
    assert [c.tokens for c in again.caption(test.images[:12])] == [c.tokens for c in model.caption(test.images[:12])]


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_the_lstm_state_is_not_rounded_to_the_compute_dtype(policy):
    from showattend.layers.cells import LSTMCell

    cell = LSTMCell(4)
    cell.build((None, 3))
    cell.kernel.assign(np.zeros(cell.kernel.shape))
    cell.recurrent_kernel.assign(np.zeros(cell.recurrent_kernel.shape))
    cell.bias.assign(np.concatenate([np.full(4, -30.0), np.full(4, 30.0), np.zeros(8)]))  # i = 0, f = 1: c carries
    c = np.full((2, 4), 1 + 2 ** -12, np.float32)  # bfloat16 would round it to 1
    h, c_next = cell(np.ones((2, 3), np.float32), (np.zeros((2, 4), np.float32), c))
    assert c_next.dtype == "float32" and h.dtype == "float32"
    np.testing.assert_array_equal(np.asarray(c_next), c)
