"""The plain reference that showattend.generation's compiled search is tested against: greedy and
beam search in numpy, one Python step at a time (the package's search before it was compiled whole).

A step function takes the previous token ids (rows,) and a state (a tuple of arrays with ``rows``
as first axis) and returns ``(log_probs (rows, vocab), new_state, extras)``, where ``extras`` is a
dict of per-row arrays (for a captioner: the attention α and the gate β that produced the word).
Decoding stops on the ``end_id`` token, never on strings.
"""
import numpy as np

from showattend.generation import Hypothesis


def _hypothesis(ids, score, extras, length, finished):
    return Hypothesis([int(i) for i in ids[:length]], float(score),
                      {k: np.asarray(v[:length]) for k, v in extras.items()}, finished)


def _check(batch_size, max_length, beam_size=1):
    for label, value in (("batch_size", batch_size), ("max_length", max_length), ("beam_size", beam_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}.")


def greedy_search(step_fn, state, batch_size, start_id, end_id, max_length):
    """The most likely word at every step, for ``batch_size`` sequences at once.

    >>> def step(tokens, state):  # always says 5, then <end> (2)
    ...     logp = np.full((len(tokens), 6), -9.0); logp[:, 5] = np.where(tokens == 5, -9, -0.1)
    ...     logp[:, 2] = np.where(tokens == 5, -0.1, -9); return logp, state, {}
    >>> greedy_search(step, (), 1, start_id=1, end_id=2, max_length=5)[0].ids
    [5]
    """
    _check(batch_size, max_length)
    tokens = np.full(batch_size, start_id, dtype=np.int32)
    scores = np.zeros(batch_size, dtype=np.float64)
    done = np.zeros(batch_size, dtype=bool)
    lengths = np.full(batch_size, max_length)
    ids, extras = [], {}
    for t in range(max_length):
        log_probs, state, extra = step_fn(tokens, state)
        chosen = np.argmax(log_probs, axis=-1).astype(np.int32)
        scores += np.where(done, 0.0, log_probs[np.arange(batch_size), chosen])
        newly_done = ~done & (chosen == end_id)
        lengths[newly_done] = t
        done |= newly_done
        ids.append(chosen)
        for name, value in extra.items():
            extras.setdefault(name, []).append(np.asarray(value))
        tokens = chosen
        if done.all():
            break
    ids = np.stack(ids, axis=1)
    extras = {k: np.stack(v, axis=1) for k, v in extras.items()}
    return [_hypothesis(ids[b], scores[b], {k: v[b] for k, v in extras.items()}, lengths[b], bool(done[b]))
            for b in range(batch_size)]


def beam_search(step_fn, state, batch_size, start_id, end_id, beam_size, max_length):
    """Beam search: keeps the ``beam_size`` best partial sequences per image.

    ``state`` must already hold ``batch_size * beam_size`` rows (image b's beams at rows
    b·K … b·K+K−1). Scores are summed log-probabilities; an image is done when it has ``beam_size``
    finished sequences or when its best finished one beats every live beam (scores only fall).
    """
    _check(batch_size, max_length, beam_size)
    B, K = batch_size, beam_size
    tokens = np.full(B * K, start_id, dtype=np.int32)
    scores = np.full((B, K), -np.inf)
    scores[:, 0] = 0.0  # all beams start equal: expand only the first
    ids = np.zeros((B, K, 0), dtype=np.int32)
    extras = None  # name -> (B, K, t, ...)
    finished = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    for t in range(max_length):
        log_probs, state, extra = step_fn(tokens, state)
        vocab = log_probs.shape[-1]
        extra = {k: np.asarray(v).reshape((B, K) + np.shape(v)[1:]) for k, v in extra.items()}
        if extras is None:
            extras = {k: np.zeros((B, K, 0) + v.shape[2:], v.dtype) for k, v in extra.items()}
        total = (scores[:, :, None] + log_probs.reshape(B, K, vocab)).reshape(B, K * vocab)
        width = min(2 * K, K * vocab)
        top = np.stack([_best(row, width) for row in total])
        source = np.zeros((B, K), dtype=np.int64)
        chosen = np.full((B, K), end_id, dtype=np.int32)
        new_scores = np.full((B, K), -np.inf)
        for b in range(B):
            if done[b]:
                continue
            alive = 0
            for flat in top[b]:
                score, beam, word = total[b, flat], flat // vocab, flat % vocab
                if not np.isfinite(score) or alive == K:
                    break
                if word == end_id:
                    if len(finished[b]) < K:
                        finished[b].append(_hypothesis(ids[b, beam], score, {k: v[b, beam] for k, v in extras.items()},
                                                       t, True))
                else:
                    source[b, alive], chosen[b, alive], new_scores[b, alive] = beam, word, score
                    alive += 1
            best_done = max((h.score for h in finished[b]), default=-np.inf)
            if len(finished[b]) >= K or best_done >= new_scores[b].max():
                done[b] = True
        rows = np.arange(B)[:, None]
        ids = np.concatenate([ids[rows, source], chosen[..., None]], axis=2)
        extras = {k: np.concatenate([v[rows, source], extra[k][rows, source][:, :, None]], axis=2)
                  for k, v in extras.items()}
        flat_rows = (rows * K + source).reshape(-1)
        state = tuple(np.asarray(s)[flat_rows] for s in state)
        tokens = chosen.reshape(-1)
        scores = new_scores
        if done.all():
            break
    for b in np.flatnonzero(~done):  # cut at max_length: the live beams compete too
        finished[b].extend(_hypothesis(ids[b, k], scores[b, k], {n: v[b, k] for n, v in extras.items()},
                                       ids.shape[2], False) for k in range(K) if np.isfinite(scores[b, k]))
    return [max(hyps, key=lambda h: h.score) for hyps in finished]


def reference_captions(model, regions, beam_size, max_length, reading="expectation"):
    """A Captioner's hypotheses found step by step: the decoder's own ``initial_state``, ``context``
    and ``step`` (the step ``caption()`` runs) as tf.functions, the search in numpy, one Python step
    per word, every beam a row of its own."""
    import tensorflow as tf

    decoder, ids = model.decoder, model.vocabulary
    regions = np.repeat(np.asarray(regions, "float32"), beam_size, axis=0)  # one row per beam
    state, context = tf.function(lambda r: (decoder.initial_state(r), decoder.context(r)))(regions)
    step = tf.function(lambda tokens, state, context: decoder.step(tokens, state, context, reading=reading))

    def step_fn(tokens, state):
        logits, state, extras = step(tokens, state, context)
        log_probs = tf.nn.log_softmax(logits).numpy()
        log_probs[:, [ids.pad_id, ids.start_id]] = -np.inf  # never generated
        return log_probs, tuple(s.numpy() for s in state), {"alpha": extras["alpha"].numpy(),
                                                           "beta": extras["beta"].numpy()}

    state = tuple(np.asarray(s) for s in state)
    rows = len(regions) // beam_size
    if beam_size == 1:
        return greedy_search(step_fn, state, rows, ids.start_id, ids.end_id, max_length)
    return beam_search(step_fn, state, rows, ids.start_id, ids.end_id, beam_size, max_length)


def _best(values, width):
    """Indices of the ``width`` largest values, best first; ties: the lower index first."""
    kth = -np.partition(-values, width - 1)[width - 1]
    above, tied = np.flatnonzero(values > kth), np.flatnonzero(values == kth)
    chosen = np.sort(np.concatenate([above, tied[:width - len(above)]]))
    return chosen[np.argsort(-values[chosen], kind="stable")]
