import keras
import numpy as np
import pytest

from showattend import Captioner, load_captioner
from showattend.layers.attention import make_attention
from showattend.layers.cells import GRUCell, LSTMCell

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5)).astype("float32")
H = RNG.normal(size=(3, 4)).astype("float32")
C = RNG.normal(size=(3, 4)).astype("float32")


def _cell(variant):
    keras.utils.set_random_seed(1)
    cell = LSTMCell(4, variant)
    cell.build((None, 5))
    return cell


def test_peephole_lstm_with_zero_peepholes_is_the_plain_lstm():
    plain, peephole = _cell("lstm"), _cell("peephole_lstm")
    for name in ("kernel", "recurrent_kernel", "bias"):
        getattr(peephole, name).assign(getattr(plain, name))
    assert np.all(peephole.peephole.numpy() == 0)
    for a, b in zip(plain(X, (H, C)), peephole(X, (H, C))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    peephole.peephole.assign(np.full((3, 4), 0.5, "float32"))  # the gates now see the cell
    h, c = peephole(X, (H, C))
    z = X @ plain.kernel.numpy() + H @ plain.recurrent_kernel.numpy() + plain.bias.numpy()
    i, f, o, g = np.split(z, 4, axis=-1)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    want_c = sig(f + 0.5 * C) * C + sig(i + 0.5 * C) * np.tanh(g)
    np.testing.assert_allclose(np.asarray(c), want_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(h), sig(o + 0.5 * want_c) * np.tanh(want_c), rtol=1e-5, atol=1e-6)


def test_cifg_forget_gate_is_exactly_one_minus_the_input_gate():
    cell = _cell("cifg_lstm")
    assert cell.kernel.shape == (5, 12)  # three gates' worth of weights, not four
    z = X @ cell.kernel.numpy() + H @ cell.recurrent_kernel.numpy() + cell.bias.numpy()
    i = 1 / (1 + np.exp(-z[:, :4]))
    np.testing.assert_allclose(np.asarray(cell.forget_gate(X, (H, C))), 1 - i, rtol=1e-6)
    _, c = cell(X, (H, C))
    np.testing.assert_allclose(np.asarray(c), (1 - i) * C + i * np.tanh(z[:, 8:]), rtol=1e-5, atol=1e-6)
    assert np.asarray(cell.forget_gate(np.zeros_like(X), (np.zeros_like(H), C))) == pytest.approx(1 - 1 / (1 + np.e))


def test_gru_matches_keras_gru_cell_with_the_same_weights():
    ours = GRUCell(4)
    ours.build((None, 5))
    reference = keras.layers.GRUCell(4)
    reference.build((None, 5))
    reference.set_weights([RNG.normal(size=w.shape).astype("float32") for w in reference.get_weights()])
    ours.gru.set_weights(reference.get_weights())
    h_ours, h_ref = H, H
    for _ in range(3):
        h_ours, c = ours(X, (h_ours, C))
        h_ref, _ = reference(X, [h_ref])
        np.testing.assert_allclose(np.asarray(h_ours), np.asarray(h_ref), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(c), C)  # no cell state: passed through


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_every_attention_score_gives_alpha_summing_to_one(kind):
    attention = make_attention(kind, 6, units=4)
    features = RNG.normal(size=(3, 9, 7)).astype("float32")
    attention.build_regions((None, None, 7))
    attention.build((None, None, 6), (None, 4))
    alpha = np.asarray(attention(attention.project(features), H))
    assert alpha.shape == (3, 9) and (alpha > 0).all()
    np.testing.assert_allclose(alpha.sum(-1), 1.0, rtol=1e-6)
    if kind == "general":  # e_i = a_i^T W h
        w = attention.bilinear.kernel.numpy()
        e = np.einsum("bld,dn,bn->bl", features, w, H)
        np.testing.assert_allclose(alpha, np.exp(e) / np.exp(e).sum(-1, keepdims=True), rtol=1e-4)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_beams_read_their_images_regions_as_a_copy_per_beam_would(kind):
    """scores(projected, h, beams=K) with K rows of h per image equals the scores of a copy of the
    image's regions per row (what the beam search read before it broadcast them)."""
    attention = make_attention(kind, 6, units=4)
    attention.build_regions((None, None, 7))
    attention.build((None, None, 6), (None, 4))
    projected = attention.project(RNG.normal(size=(2, 9, 7)).astype("float32"))
    hidden = RNG.normal(size=(6, 4)).astype("float32")  # 3 beams for each of 2 images
    broadcast = np.asarray(attention.scores(projected, hidden, beams=3))
    copied = np.asarray(attention.scores(np.repeat(np.asarray(projected), 3, axis=0), hidden))
    assert broadcast.shape == (6, 9)
    np.testing.assert_allclose(broadcast, copied, rtol=1e-5, atol=1e-6)
    swapped = np.asarray(attention.scores(np.asarray(projected)[::-1].copy(), hidden, beams=3))
    assert np.abs(swapped - broadcast).max() > 1e-3  # which image's regions a beam reads matters


def test_unknown_choices_are_named():
    vocab = {"words": ["<pad>", "<start>", "<end>", "<unk>", "a"]}
    for option, value, accepted in (("cell", "rnn", "lstm, peephole_lstm, cifg_lstm, gru"),
                                    ("attention_score", "cosine", "additive, dot, general"),
                                    ("init_state", "random", "mean, zeros")):
        with pytest.raises(ValueError, match=f"Unknown {option} '{value}'. Accepted: {accepted}"):
            Captioner("small_vgg", vocab, **{option: value})


VARIANTS = [{"cell": "peephole_lstm"}, {"cell": "cifg_lstm"}, {"cell": "gru"}, {"attention_score": "dot"},
            {"attention_score": "general"}, {"gate": False}, {"deep_output": False}, {"init_state": "zeros"},
            {"doubly_stochastic": 0.0}, {"attention": "hard"}]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_every_choice_trains_a_step_and_round_trips(options, vocabulary, small_data, tmp_path):
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, embed_dim=16, units=32, attention_dim=16, max_length=12, **options)
    model.compile(optimizer="adam", jit_compile=False, run_eagerly=True)
    data = model.make_dataset(small_data, batch_size=32, shuffle=False).take(1)
    before = [np.array(w) for w in model.decoder.trainable_weights]
    history = model.fit(data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.allclose(b, np.array(a)) for b, a in zip(before, model.decoder.trainable_weights))
    model.save(tmp_path / "model.keras")
    again = load_captioner(tmp_path / "model.keras")
    for key, value in options.items():
        assert again.decoder.options[key] == value and again.get_config()["decoder"]["config"][key] == value
    inputs, _ = next(iter(data))
    got, want = again(inputs, training=False), model(inputs, training=False)
    for key in ("logits", "alpha", "beta"):
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(want[key]), rtol=1e-5, atol=1e-5)
    assert [c.text for c in again.caption(small_data.images[:2], beam_size=2)] == \
        [c.text for c in model.caption(small_data.images[:2], beam_size=2)]
