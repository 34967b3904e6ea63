"""The Transformer decoder: a future word never changes a past word's logits, cached decoding equals
recomputing the prefix at every step, each word's map sums to 1 and peaks where the cross-attention
points, positions are refused by name, and a trained model saves, reloads and captions alike."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from showattend import Captioner, Vocabulary, load_captioner
from showattend.datasets import shapes
from showattend.decoders import TransformerDecoder
from showattend.generation import beam_search, compiled_search, hypotheses

SMALL = dict(layers=2, heads=2, width=32, ff_width=64)


@pytest.fixture(scope="module")
def data():
    train = shapes("train", num_images=300, seed=0)
    return train, shapes("test", num_images=16, seed=5), Vocabulary.build(train.all_captions(), min_count=1)


@pytest.fixture(scope="module")
def trained(data):
    """A 2-layer Transformer captioner trained for 2 epochs: its choices are clear, not near-ties."""
    train, _, vocabulary = data
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, decoder="transformer", max_length=16, seed=0, **SMALL)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(train, epochs=2, batch_size=32, verbose=0)
    return model


def pair_of_decoders(**options):
    """Two decoders with the same weights and the same dropout seed: the same masks call for call."""
    made = []
    for _ in range(2):
        decoder = TransformerDecoder(vocab_size=20, seed=3, grid_shape=(3, 3), **{**SMALL, **options})
        decoder.build((None, 9, 12))
        made.append(decoder)
    made[1].set_weights(made[0].get_weights())
    return made


@pytest.mark.parametrize("training", [False, True])
def test_a_future_word_never_changes_a_past_words_logits(training):
    first, second = pair_of_decoders(residual_dropout=0.3)
    regions = np.random.RandomState(0).randn(2, 9, 12).astype("float32")
    tokens = np.random.RandomState(1).randint(3, 20, (2, 8)).astype("int32")
    changed = tokens.copy()
    changed[:, 5:] = (changed[:, 5:] + 7) % 17 + 3  # words 5, 6, 7 differ
    before = first(regions, tokens, training=training)
    after = second(regions, changed, training=training)
    np.testing.assert_array_equal(before["logits"][:, :5], after["logits"][:, :5])
    np.testing.assert_array_equal(before["alpha"][:, :5], after["alpha"][:, :5])
    assert np.abs(np.asarray(before["logits"][:, 5:]) - np.asarray(after["logits"][:, 5:])).max() > 1e-2


def test_each_step_against_the_cache_gives_the_whole_captions_logits_and_maps():
    decoder, _ = pair_of_decoders(encoder_layers=1)
    regions = np.random.RandomState(2).randn(3, 9, 12).astype("float32")
    tokens = np.random.RandomState(3).randint(0, 20, (3, 7)).astype("int32")
    whole = decoder(regions, tokens)
    state, context = decoder.initial_state(regions, length=7), decoder.context(regions)
    for t in range(7):
        logits, state, extras = decoder.step(tokens[:, t], state, context)
        np.testing.assert_allclose(logits, whole["logits"][:, t], atol=1e-5)
        np.testing.assert_allclose(extras["alpha"], whole["alpha"][:, t], atol=1e-6)
    assert len(state) == 1 + 2 * 2  # the position, then each block's keys and values
    assert {tuple(s.shape) for s in state[1:]} == {(3, 2, 7, 16)}  # (rows, heads, length, head width)
    np.testing.assert_array_equal(state[0], [7, 7, 7])


def recomputing_search(decoder, regions, vocabulary, beam_size, max_length):
    """Beam search whose step runs the whole decoder over the prefix written so far, every step."""
    images = regions.shape[0]

    def step(tokens, state):
        history, position = state
        here = tf.one_hot(position, max_length, on_value=True, off_value=False)
        history = tf.where(here, tokens[:, None], history)
        rows = tf.repeat(regions, tokens.shape[0] // images, axis=0)
        out = decoder(rows, history)
        at = tf.gather(out["logits"], position, axis=1, batch_dims=1)
        return at, (history, position + 1), {"alpha": tf.gather(out["alpha"], position, axis=1, batch_dims=1)}

    state = (tf.zeros((images, max_length), tf.int32), tf.zeros((images,), tf.int32))
    return tf.function(lambda: beam_search(step, state, images, vocabulary.start_id, vocabulary.end_id, beam_size,
                                           max_length, logits=True,
                                           banned_ids=(vocabulary.pad_id, vocabulary.start_id)))()


@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_cached_search_finds_what_recomputing_the_prefix_finds(trained, data, beam_size):
    _, test, vocabulary = data
    regions = trained.encode(test.images.astype("float32"))
    cached = hypotheses(compiled_search(trained.decoder, vocabulary)(regions, beam_size, 16, "expectation", True))
    recomputed = hypotheses(recomputing_search(trained.decoder, regions, vocabulary, beam_size, 16))
    assert [h.ids for h in cached] == [h.ids for h in recomputed]
    np.testing.assert_allclose([h.score for h in cached], [h.score for h in recomputed], atol=1e-5)
    for found, again in zip(cached, recomputed):
        np.testing.assert_allclose(found.extras["alpha"], again.extras["alpha"], atol=1e-5)
    assert sum(len(h.ids) > 2 for h in cached) >= len(cached) // 2  # real captions, not all empty


def test_the_search_is_traced_once_per_shape(trained, data):
    _, test, _ = data
    search = trained._compiled_functions()[1]
    for _ in range(2):
        for beam_size in (1, 3):
            trained.caption(test.images[:4], beam_size=beam_size, max_length=10)
    traced = search.experimental_get_tracing_count()
    trained.caption(test.images[:4], beam_size=3, max_length=10)
    assert search.experimental_get_tracing_count() == traced


@pytest.mark.parametrize("attention_map", ["last", "mean"])
def test_maps_sum_to_one_and_peak_where_the_cross_attention_points(attention_map):
    """One head, regions one-hot: after the LayerNorm every region has the same norm, so a query equal
    to region j's key scores j highest. Each block's query is set to region ``target``'s key."""
    decoder = TransformerDecoder(vocab_size=20, layers=2, heads=1, width=16, ff_width=16, region_positions=False,
                                 attention_map=attention_map)
    decoder.build((None, 9, 9))
    decoder.region_projection.set_weights([np.eye(9, 16, dtype="float32"), np.zeros(16, "float32")])
    regions = np.eye(9, dtype="float32")[None].repeat(2, axis=0)  # region i is e_i
    memory = np.asarray(decoder.memory(regions))[0]  # (9, 16)
    target = 6
    for block in decoder.blocks:
        cross = block.cross_attention
        cross.key.set_weights([np.eye(16, dtype="float32"), np.zeros(16, "float32")])
        cross.query.set_weights([np.zeros((16, 16), "float32"), 8.0 * memory[target]])
    tokens = np.random.RandomState(4).randint(0, 20, (2, 5)).astype("int32")
    alpha = np.asarray(decoder(regions, tokens)["alpha"])
    np.testing.assert_allclose(alpha.sum(-1), 1.0, atol=1e-6)
    assert (alpha.argmax(-1) == target).all() and alpha[..., target].min() > 0.9
    state, context = decoder.initial_state(regions, 5), decoder.context(regions)
    _, _, extras = decoder.step(tokens[:, 0], state, context)
    np.testing.assert_allclose(extras["alpha"], alpha[:, 0], atol=1e-6)


def test_captions_carry_maps_of_the_grid_and_no_gate(trained, data):
    _, test, _ = data
    captions = trained.caption(test.images[:3], beam_size=3, return_attention=True)
    for caption in captions:
        assert caption.attention.shape == (len(caption.tokens), 8, 8)
        np.testing.assert_allclose(caption.attention.sum(axis=(1, 2)), 1.0, atol=1e-5)
        assert caption.beta is None and "beta" not in caption.to_dict()


def test_a_trained_model_saves_and_reloads_with_identical_captions(trained, data, tmp_path):
    _, test, _ = data
    trained.save(tmp_path / "transformer.keras")
    again = load_captioner(tmp_path / "transformer.keras")
    assert type(again.decoder) is TransformerDecoder and again.decoder.options == trained.decoder.options
    assert again.decoder.grid_shape == (8, 8)
    expected = trained.caption(test.images, beam_size=3, return_attention=True)
    found = again.caption(test.images, beam_size=3, return_attention=True)
    assert [c.tokens for c in found] == [c.tokens for c in expected]
    np.testing.assert_allclose([c.score for c in found], [c.score for c in expected], atol=1e-5)


def test_more_words_than_positions_are_refused_by_name(trained, data, vocabulary):
    with pytest.raises(ValueError, match=r"max_length=64 needs 65 positions .* the 64 of the 2-layer Transformer"):
        Captioner("small_vgg", vocabulary, decoder="transformer", max_length=64, **SMALL)
    with pytest.raises(ValueError, match="max_length=65 is more than the 64 positions"):
        trained.caption(data[1].images[:1], max_length=65)
    long = Captioner("small_vgg", vocabulary, decoder="transformer", max_length=70, positions=71, **SMALL)
    assert long.decoder.max_positions == 71
    with pytest.raises(ValueError, match="heads=3 must divide width=32"):
        Captioner("small_vgg", vocabulary, decoder="transformer", heads=3, width=32)


def test_a_decoder_made_for_another_grid_is_refused(vocabulary):
    decoder = TransformerDecoder(len(vocabulary), grid_shape=(4, 4), **SMALL)
    with pytest.raises(ValueError, match=r"made for a \(4, 4\) grid but the backbone gives \(8, 8\)"):
        Captioner("small_vgg", vocabulary, decoder=decoder)
    unplaced = TransformerDecoder(len(vocabulary), **SMALL)
    assert Captioner("small_vgg", vocabulary, decoder=unplaced).decoder.grid_shape == (8, 8)


@pytest.fixture
def bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_under_bfloat16_softmax_maps_and_logits_stay_float32_and_captions_agree(trained, data, bfloat16):
    train, test, vocabulary = data
    mixed = Captioner("small_vgg", vocabulary, decoder="transformer", max_length=16, seed=0, **SMALL)
    mixed.set_weights(trained.get_weights())
    block = mixed.decoder.blocks[0]
    assert block.cross_attention.query.compute_dtype == block.feed_forward_in.compute_dtype == "bfloat16"
    assert mixed.decoder.output_logits.compute_dtype == "float32"
    inputs, targets = next(iter(mixed.make_dataset(train.subset(range(16)), batch_size=16)))
    outputs = mixed(inputs, training=True)
    assert outputs["logits"].dtype == outputs["alpha"].dtype == "float32"
    np.testing.assert_allclose(np.asarray(outputs["alpha"]).sum(-1), 1.0, atol=1e-5)
    expected = [c.tokens for c in trained.caption(test.images, beam_size=3)]
    found = mixed.caption(test.images, beam_size=3, return_attention=True)
    assert np.mean([c.tokens == e for c, e in zip(found, expected)]) >= 0.8
    assert all(c.attention.dtype == np.float32 for c in found)
    mixed.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = mixed.fit(train.subset(range(96)), epochs=2, batch_size=32, verbose=0).history
    assert all(np.isfinite(history["loss"])) and history["loss"][1] < history["loss"][0]


def test_one_search_trains_an_lstm_and_a_transformer(data, tmp_path):
    """Everything but the decoder pinned: the first trial is the default (the LSTM), and the random
    oracle, which never repeats a trial's values, must try the Transformer second."""
    import math

    from showattend.tuning import CaptionHyperModel, make_tuner

    train, _, vocabulary = data
    val = shapes("val", num_images=24, seed=1)
    pinned = dict(attention="soft", cell="lstm", attention_score="additive", units=32, embed_dim=16, attention_dim=16,
                  doubly_stochastic=0.0, layers=1, heads=2, width=32, ff_width=64, encoder_layers=0, dropout=0.0,
                  residual_dropout=0.0,
                  learning_rate=3e-3)
    hypermodel = CaptionHyperModel(vocabulary, backbones=["small_vgg"], image_size=(64, 64),
                                   decoders=["lstm", "transformer"], val_images=24, batch_size=32, **pinned)
    tuner = make_tuner(hypermodel, "random", max_trials=2, max_epochs=1, directory=tmp_path, verbose=0)
    tuner.search(train.subset(range(100)), validation_data=val, verbose=0)
    trials = [tuner.oracle.trials[t] for t in sorted(tuner.oracle.trials)]
    assert [t.hyperparameters.values["decoder"] for t in trials] == ["lstm", "transformer"]
    assert all(t.status == "COMPLETED" and math.isfinite(t.score) for t in trials)
    lstm, transformer = (tuner.load_model(t).decoder for t in trials)
    assert type(lstm).__name__ == "LSTMDecoder" and lstm.options["units"] == 32
    assert type(transformer) is TransformerDecoder and transformer.options["width"] == 32
    assert not trials[0].hyperparameters.is_active("width") and not trials[1].hyperparameters.is_active("units")
