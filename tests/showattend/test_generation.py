"""The compiled search (showattend.generation) against the plain numpy reference kept in the tests."""
import numpy as np
import pytest
import tensorflow as tf

from showattend.generation import beam_search, hypotheses, top_k_of_rows
from tests.showattend import reference_search as reference

START, END, A, B = 1, 2, 3, 4
EPS = 1e-9


def compiled(step, state, batch, beam_size, max_length, **options):
    """Run the compiled search over a TensorFlow step function, as Captioner does: one tf.function."""
    search = tf.function(lambda *s: beam_search(step, s, batch, START, END, beam_size, max_length, **options))
    return hypotheses(search(*[tf.constant(s) for s in state]))


def per_beam(state, beam_size):
    """The reference search's state: each image's row repeated to its beams (the compiled search
    repeats it itself, after its first step)."""
    return tuple(np.repeat(s, beam_size, axis=0) for s in state)


def table_steps(table, vocab=5):
    """numpy and TensorFlow step functions whose next word depends only on the previous word."""
    rows = np.array([table.get(t, [1 / vocab] * vocab) for t in range(vocab)]) + EPS

    def numpy_step(tokens, state):
        return np.log(rows[tokens]), state, {"previous": tokens.copy()}

    def tf_step(tokens, state):
        return tf.math.log(tf.gather(tf.constant(rows), tokens)), state, {"previous": tokens}

    return numpy_step, tf_step


# From <start>: "a" 0.6, "b" 0.4. After "a": <end> 0.4; after "b": <end> 0.9.
# Greedy says "a" (0.6 · 0.4 = 0.24); the better sentence is "b" (0.4 · 0.9 = 0.36).
TRAP = {START: [0, 0, 0, 0.6, 0.4], A: [0, 0, 0.4, 0.3, 0.3], B: [0, 0, 0.9, 0.05, 0.05]}


def test_beam_search_finds_the_better_sequence_that_greedy_misses():
    _, step = table_steps(TRAP)
    (greedy,) = compiled(step, (), 1, beam_size=1, max_length=5)
    (beam,) = compiled(step, (), 1, beam_size=2, max_length=5)
    assert greedy.ids == [A] and greedy.score == pytest.approx(np.log(0.24), abs=1e-6)
    assert beam.ids == [B] and beam.score == pytest.approx(np.log(0.36), abs=1e-6)
    assert greedy.extras["previous"].tolist() == [START] and beam.extras["previous"].tolist() == [START]


def random_steps(seed, vocab=9, logits=False):
    """numpy and TensorFlow step functions whose next word depends on the whole path (in the state).
    With ``logits``, the TensorFlow step returns logits (for beam_search(logits=True, banned_ids=(0,)))
    and the numpy one their log-softmax over every word, after which <pad> (0) is never chosen."""
    weights = np.random.default_rng(seed).normal(size=(vocab, vocab)) * 2.5
    if logits:
        weights[:, 0] += 5.0  # <pad> often the likeliest word: the search must count it, and pass it by
    pad = np.zeros(vocab)
    pad[0] = -1e9  # never <pad>

    def numpy_step(tokens, state):
        path = state[0] * 0.5 + weights[tokens]
        scores = path if logits else path + pad
        log_probs = scores - scores.max(-1, keepdims=True)
        log_probs = log_probs - np.log(np.exp(log_probs).sum(-1, keepdims=True))
        return log_probs + (pad if logits else 0), (path,), {"previous": tokens.copy(), "path": path.copy()}

    def tf_step(tokens, state):
        path = state[0] * 0.5 + tf.gather(tf.constant(weights), tokens)
        if logits:
            return path, (path,), {"previous": tokens, "path": path}
        scores = path + pad
        log_probs = scores - tf.reduce_max(scores, -1, keepdims=True)
        log_probs = log_probs - tf.math.log(tf.reduce_sum(tf.exp(log_probs), -1, keepdims=True))
        return log_probs, (path,), {"previous": tokens, "path": path}

    return numpy_step, tf_step


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("beam_size", [1, 2, 3, 5])
def test_the_compiled_search_is_exact_against_the_reference(seed, beam_size):
    numpy_step, tf_step = random_steps(seed)
    batch, max_length = 5, 3 + seed  # short enough that some images are cut, long enough that most end
    state = (np.random.default_rng(seed).normal(size=(batch, 9)),)  # images differ from the first step
    if beam_size == 1:
        expected = reference.greedy_search(numpy_step, state, batch, START, END, max_length)
    else:
        expected = reference.beam_search(numpy_step, per_beam(state, beam_size), batch, START, END, beam_size,
                                         max_length)
    got = compiled(tf_step, state, batch, beam_size, max_length)
    for e, g in zip(expected, got):
        assert g.ids == e.ids and g.finished == e.finished
        assert g.score == pytest.approx(e.score, abs=1e-9)
        np.testing.assert_array_equal(g.extras["previous"], e.extras["previous"])
        np.testing.assert_allclose(g.extras["path"], e.extras["path"], atol=1e-12)


@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_exact_over_a_vocabulary_wide_enough_to_search_by_blocks(beam_size):
    """1,500 words: each beam's 2K best words come from top_k_of_rows' blocks (12 of 125)."""
    numpy_step, tf_step = random_steps(beam_size, vocab=1500)
    batch, max_length = 4, 6
    state = (np.random.default_rng(beam_size).normal(size=(batch, 1500)),)
    search = reference.greedy_search if beam_size == 1 else reference.beam_search
    expected = search(numpy_step, per_beam(state, beam_size), batch, START, END,
                      *([beam_size] if beam_size > 1 else []), max_length)
    got = compiled(tf_step, state, batch, beam_size, max_length)
    assert [g.ids for g in got] == [e.ids for e in expected]
    assert [g.score for g in got] == pytest.approx([e.score for e in expected], abs=1e-9)


@pytest.mark.parametrize("vocab", [9, 1499, 1500])  # 1,499: the last of 12 blocks of 125 is padded
@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_a_search_over_logits_equals_the_reference_over_their_log_softmax(beam_size, vocab):
    """logits=True: the search normalises the step's logits itself, counting the banned <pad> in the
    normaliser (it is often the likeliest word here: a search that left it out would score higher) but
    never choosing it."""
    numpy_step, tf_step = random_steps(beam_size + vocab, vocab=vocab, logits=True)
    batch, max_length = 4, 6
    state = (np.random.default_rng(vocab).normal(size=(batch, vocab)),)
    search = reference.greedy_search if beam_size == 1 else reference.beam_search
    expected = search(numpy_step, per_beam(state, beam_size), batch, START, END,
                      *([beam_size] if beam_size > 1 else []), max_length)
    got = compiled(tf_step, state, batch, beam_size, max_length, logits=True, banned_ids=(0,))
    assert [g.ids for g in got] == [e.ids for e in expected]
    assert [g.score for g in got] == pytest.approx([e.score for e in expected], abs=1e-9)
    assert all(0 not in g.ids for g in got)


def test_banned_words_are_never_chosen_from_log_probabilities():
    """banned_ids with log-probabilities (logits=False): the same search as over log-probabilities in
    which the banned word was never possible."""
    numpy_step, logits_step = random_steps(4, logits=True)

    def tf_step(tokens, state):
        logits, state, extras = logits_step(tokens, state)
        return tf.nn.log_softmax(logits), state, extras

    batch, beam_size, max_length = 4, 3, 6
    state = (np.random.default_rng(4).normal(size=(batch, 9)),)
    expected = reference.beam_search(numpy_step, per_beam(state, beam_size), batch, START, END, beam_size, max_length)
    got = compiled(tf_step, state, batch, beam_size, max_length, banned_ids=(0,))
    assert [g.ids for g in got] == [e.ids for e in expected]
    assert [g.score for g in got] == pytest.approx([e.score for e in expected], abs=1e-9)


def test_rows_whose_logits_are_all_minus_infinity_offer_no_word_and_no_nan():
    """Image 1 has no possible word at all; from the second step on, every image's first beam has
    none either (its normaliser is −∞: its words are −∞, not −∞ − −∞ = NaN, which TensorFlow's top_k
    ranks first when it comes first, so that the image's other beams would be dropped)."""
    _, logits_step = random_steps(5, logits=True)
    batch, beam_size = 3, 3
    state = (np.random.default_rng(5).normal(size=(batch, 9)),)

    def broken_step(tokens, state):
        logits, state, extras = logits_step(tokens, state)
        rows = tf.shape(logits)[0]
        image, slot = tf.range(rows) // (rows // batch), tf.range(rows) % (rows // batch)
        dead = (image == 1) | ((rows > batch) & (slot == 0))
        return tf.where(dead[:, None], tf.constant(-np.inf, logits.dtype), logits), state, extras

    fine = compiled(logits_step, state, batch, beam_size, 6, logits=True, banned_ids=(0,))
    broken = compiled(broken_step, state, batch, beam_size, 6, logits=True, banned_ids=(0,))
    assert broken[1].ids == [] and broken[1].score == -np.inf
    for b in (0, 2):  # the other images go on with their other beams
        assert np.isfinite(broken[b].score) and broken[b].score <= fine[b].score + 1e-9 and broken[b].ids


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_logits_are_normalised_in_float32(dtype):
    """The same search as over the same values in float32 (a 16-bit sum over the vocabulary would be coarse)."""
    _, logits_step = random_steps(8, vocab=300, logits=True)

    def step_in(out_dtype):
        def step(tokens, state):
            logits, state, extras = logits_step(tokens, state)
            return tf.cast(tf.cast(logits, dtype), out_dtype), state, extras
        return step

    state = (np.random.default_rng(8).normal(size=(4, 300)),)
    narrow = compiled(step_in(dtype), state, 4, 3, 6, logits=True, banned_ids=(0,))
    wide = compiled(step_in("float32"), state, 4, 3, 6, logits=True, banned_ids=(0,))
    assert [h.ids for h in narrow] == [h.ids for h in wide]
    assert [h.score for h in narrow] == pytest.approx([h.score for h in wide], abs=1e-9)


def test_bad_state_rows_and_banned_ids_are_refused():
    _, tf_step = random_steps(6)
    with pytest.raises(ValueError, match="state\\[0\\] has 6 rows.*one row per image"):
        compiled(tf_step, (np.zeros((6, 9)),), 2, 3, 4)
    with pytest.raises(ValueError, match="banned_ids must be word ids in \\[0, 9\\), got \\[9\\]"):
        compiled(tf_step, (np.zeros((2, 9)),), 2, 3, 4, banned_ids=(9,))


@pytest.mark.parametrize("seed", range(4))
def test_top_k_of_rows_equals_top_k(seed):
    """Same values and indices as tf.math.top_k, ties (few distinct values, −∞ among them) to the lower
    index, for widths that do and do not fill the last block."""
    rng = np.random.default_rng(seed)
    for width, k, block in ((1000, 6, 128), (1024, 10, 64), (777, 4, 16), (300, 3, 8), (50, 6, 16)):
        if seed % 2:  # ties, and a few larger values that put later blocks first
            values = rng.choice([-np.inf, -3.0, -1.0, 0.0], size=(7, width))
            values[np.arange(7)[:, None], rng.integers(0, width, size=(7, k - 1))] = 1 + rng.random((7, k - 1))
        else:
            values = rng.normal(size=(7, width))
        values = values.astype("float32")
        expected, got = tf.math.top_k(values, k), top_k_of_rows(tf.constant(values), k, block=block)
        np.testing.assert_array_equal(got[0].numpy(), expected[0].numpy())
        np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())


@pytest.mark.parametrize("beam_size", [2, 3, 5])
def test_ties_are_broken_as_the_reference_does(beam_size):
    """Probabilities of 1/4 and 1/8 only: most candidates tie, within a beam and across beams. Ties go
    to the lower beam, then the lower word, in the compiled search (per-beam top words first) as in
    the reference (one sort over all sums)."""
    rng = np.random.default_rng(beam_size)
    probs = rng.choice([0.25, 0.125], size=(9, 9)) + 0.0
    probs[:, 0] = 0.0  # never <pad>
    numpy_step, tf_step = table_steps({t: list(probs[t]) for t in range(9)}, vocab=9)
    batch, max_length = 3, 4
    expected = reference.beam_search(numpy_step, (), batch, START, END, beam_size, max_length)
    got = compiled(tf_step, (), batch, beam_size, max_length)
    for e, g in zip(expected, got):
        assert g.ids == e.ids and g.finished == e.finished and g.score == pytest.approx(e.score, abs=1e-9)
    assert len({tuple(g.ids) for g in got}) == 1  # the same choices for every image: ties decided the same way


def test_the_first_step_reads_each_image_once():
    """The K beams of an image all start alike: the first step runs on one row per image, the others
    on one row per beam, and the state the caller gives has one row per image."""
    _, tf_step = random_steps(3)
    rows = []

    def step(tokens, state):
        rows.append((tokens.shape[0], state[0].shape[0]))  # at trace time
        return tf_step(tokens, state)

    compiled(step, (np.zeros((4, 9)),), 4, beam_size=3, max_length=5)
    assert rows == [(4, 4), (12, 12)]


def test_beam_hypotheses_are_consistent_with_their_path():
    numpy_step, tf_step = random_steps(7)
    batch, beam_size = 4, 4
    hyps = compiled(tf_step, (np.zeros((batch, 9)),), batch, beam_size, max_length=10)
    greedy = compiled(tf_step, (np.zeros((batch, 9)),), batch, 1, max_length=10)
    assert any(h.ids != g.ids for h, g in zip(hyps, greedy))  # the beam changes some captions
    for hyp, g in zip(hyps, greedy):
        # replaying the chosen words through the step function gives the same score and extras
        tokens, path, score = np.array([START]), (np.zeros((1, 9)),), 0.0
        for i, word in enumerate(hyp.ids + ([END] if hyp.finished else [])):
            log_probs, path, extra = numpy_step(tokens, path)
            score += log_probs[0, word]
            if i < len(hyp.ids):
                assert hyp.extras["previous"][i] == tokens[0]
                np.testing.assert_allclose(hyp.extras["path"][i], extra["path"][0])
            tokens = np.array([word])
        assert hyp.score == pytest.approx(score, abs=1e-6)
        assert hyp.score >= g.score - 1e-9 or not g.finished  # a beam never does worse than greedy


def test_stops_at_max_length_without_end():
    never_end = {START: [0, 0, 0, 1, 0], A: [0, 0, 0, 1, 0]}
    _, step = table_steps(never_end)
    (greedy,) = compiled(step, (), 1, beam_size=1, max_length=4)
    (beam,) = compiled(step, (), 1, beam_size=3, max_length=4)
    assert greedy.ids == beam.ids == [A] * 4 and not greedy.finished and not beam.finished
    assert len(beam.extras["previous"]) == 4


def test_bad_arguments():
    _, step = table_steps(TRAP)
    with pytest.raises(ValueError, match="beam_size must be a positive integer, got 0"):
        beam_search(step, (), 1, START, END, beam_size=0, max_length=3)
    with pytest.raises(ValueError, match="max_length must be a positive integer, got 0"):
        beam_search(step, (), 1, START, END, beam_size=1, max_length=0)


def test_a_caption_with_attention_and_no_beta_is_written_as_json():
    import json

    import numpy as np

    from showattend import Caption

    caption = Caption("a red circle", ["a", "red", "circle"], -1.5, attention=np.full((3, 2, 2), 0.25))
    written = json.loads(json.dumps(caption.to_dict()))
    assert written["attention"][0] == [[0.25, 0.25], [0.25, 0.25]] and "beta" not in written
