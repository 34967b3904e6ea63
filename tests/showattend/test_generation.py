import numpy as np
import pytest

from showattend.generation import beam_search, greedy_search

START, END, A, B = 1, 2, 3, 4
EPS = 1e-9


def _table_step(table):
    """A step function whose next-word distribution depends only on the previous word."""
    def step(tokens, state):
        probs = np.array([table.get(int(t), [0.2] * 5) for t in tokens]) + EPS
        return np.log(probs), state, {"previous": tokens.copy()}
    return step


# From <start>: "a" 0.6, "b" 0.4. After "a": <end> 0.4; after "b": <end> 0.9.
# Greedy says "a" (0.6 · 0.4 = 0.24); the better sentence is "b" (0.4 · 0.9 = 0.36).
TRAP = {START: [0, 0, 0, 0.6, 0.4], A: [0, 0, 0.4, 0.3, 0.3], B: [0, 0, 0.9, 0.05, 0.05]}


def test_beam_search_finds_the_better_sequence_that_greedy_misses():
    greedy = greedy_search(_table_step(TRAP), (), 1, START, END, max_length=5)[0]
    beam = beam_search(_table_step(TRAP), (), 1, START, END, beam_size=2, max_length=5)[0]
    assert greedy.ids == [A] and greedy.score == pytest.approx(np.log(0.24), abs=1e-6)
    assert beam.ids == [B] and beam.score == pytest.approx(np.log(0.36), abs=1e-6)


def _random_step(seed, vocab=9):
    """Next-word log-probabilities that depend on the whole path so far (carried in the state)."""
    weights = np.random.default_rng(seed).normal(size=(vocab, vocab)) * 2.5

    def step(tokens, state):
        (path,) = state
        path = path * 0.5 + weights[tokens]
        logits = path - path.max(-1, keepdims=True)
        logits[:, 0] = -1e9  # never <pad>
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return log_probs, (path,), {"previous": tokens.copy(), "path": path.copy()}
    return step


@pytest.mark.parametrize("seed", range(5))
def test_beam_one_equals_greedy(seed):
    step, batch = _random_step(seed), 4
    state = (np.zeros((batch, 9)),)
    greedy = greedy_search(step, state, batch, START, END, max_length=12)
    beam = beam_search(step, state, batch, START, END, beam_size=1, max_length=12)
    for g, b in zip(greedy, beam):
        assert g.ids == b.ids and g.score == pytest.approx(b.score) and g.finished == b.finished
        np.testing.assert_allclose(g.extras["path"], b.extras["path"])


@pytest.mark.parametrize("seed", range(5))
def test_beam_hypotheses_are_consistent_with_their_path(seed):
    step, batch, beam_size = _random_step(seed), 3, 4
    state = (np.zeros((batch * beam_size, 9)),)
    hyps = beam_search(step, state, batch, START, END, beam_size=beam_size, max_length=10)
    greedy = greedy_search(step, (np.zeros((batch, 9)),), batch, START, END, max_length=10)
    for hyp, g in zip(hyps, greedy):
        # replaying the chosen words through the step function gives the same score and extras
        tokens, path, score = np.array([START]), (np.zeros((1, 9)),), 0.0
        for i, word in enumerate(hyp.ids + ([END] if hyp.finished else [])):
            log_probs, path, extra = step(tokens, path)
            score += log_probs[0, word]
            if i < len(hyp.ids):
                assert hyp.extras["previous"][i] == tokens[0]
                np.testing.assert_allclose(hyp.extras["path"][i], extra["path"][0])
            tokens = np.array([word])
        assert hyp.score == pytest.approx(score, abs=1e-6)
        assert hyp.score >= g.score - 1e-9 or not g.finished  # a beam never does worse than greedy


def test_stops_at_max_length_without_end():
    never_end = {START: [0, 0, 0, 1, 0], A: [0, 0, 0, 1, 0]}
    (greedy,) = greedy_search(_table_step(never_end), (), 1, START, END, max_length=4)
    (beam,) = beam_search(_table_step(never_end), (), 1, START, END, beam_size=3, max_length=4)
    assert greedy.ids == beam.ids == [A] * 4 and not greedy.finished and not beam.finished


def test_bad_arguments():
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(_table_step(TRAP), (), 1, START, END, beam_size=0, max_length=3)
    with pytest.raises(ValueError, match="max_length"):
        greedy_search(_table_step(TRAP), (), 1, START, END, max_length=0)
