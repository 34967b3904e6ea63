"""Greedy and beam search compiled whole: every step, the beam bookkeeping and the stop on ``<end>``
run inside one TensorFlow graph (a ``tf.while_loop``), batched over images × beams, with no Python
per step.

A step function takes the previous token ids (rows,) and a state (a tuple of tensors with ``rows``
as first axis: one per image at the first step, one per beam after) and returns ``(log_probs (rows,
vocab), new_state, extras)`` (logits in place of log-probabilities with ``logits=True``), where
``extras`` is a dict of per-row tensors (for a captioner: the attention α, the gate β and the region
read, that produced the word). ``beam_search`` is traceable: call it inside a ``tf.function`` (``Captioner``
does, once per batch size, beam and maximum length). Greedy search is beam search with one beam.
"""
import dataclasses

import numpy as np
import tensorflow as tf

__all__ = ["Hypothesis", "beam_search", "check_search", "hypotheses", "top_k_of_rows"]


@dataclasses.dataclass
class Hypothesis:
    """A decoded sequence: ids without ``<start>`` and ``<end>``, its log-probability, its extras.

    Attributes:
        ids: the word ids, ``<start>`` and ``<end>`` left out.
        score: the sequence's log-probability (``<end>`` included when it ended with it).
        extras: name → array (len(ids), ...); ``extras[name][i]`` came with ``ids[i]`` (for a
            captioner: the attention α, the gate β, the region read).
        finished: True when the sequence ended with ``<end>``, False when it was cut at
            ``max_length``.

    Examples:
        >>> import numpy as np
        >>> found = Hypothesis([5, 9], -1.5, {"beta": np.array([0.5, 0.25])})
        >>> found.ids, found.extras["beta"].tolist(), found.finished
        ([5, 9], [0.5, 0.25], True)
    """

    ids: list
    score: float
    extras: dict  # name -> array (len(ids), ...): extras[name][i] came with ids[i]
    finished: bool = True  # ended with <end> (False: cut at max_length)


def check_search(batch_size, max_length, beam_size=1):
    """Refuse a search size that is not a positive integer (numpy integers count; bools do not).

    Args:
        batch_size: the images searched at a time.
        max_length: the most words a sequence gets.
        beam_size: the beams kept per image.

    Raises:
        ValueError: naming the argument and its value, e.g. "beam_size must be a positive integer, got 0."

    Examples:
        >>> check_search(32, 20, beam_size=3)  # accepted: nothing happens
        >>> check_search(32, 20, beam_size=0)
        Traceback (most recent call last):
        ValueError: beam_size must be a positive integer, got 0.
    """
    for label, value in (("batch_size", batch_size), ("max_length", max_length), ("beam_size", beam_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}.")


def _first(mask):
    """Per row and slot of ``mask`` (B, candidates, slots): whether a candidate fills the slot, and the
    first that does."""
    return tf.reduce_any(mask, axis=1), tf.argmax(tf.cast(mask, tf.int32), axis=1, output_type=tf.int32)


def _pick(values, index):
    """values (B, candidates, ...) at index (B, slots) → (B, slots, ...)."""
    return tf.gather(values, index, axis=1, batch_dims=1)


def _fill(has, new, old):
    """``new`` where ``has`` (B, slots), else ``old``; both (B, slots, ...)."""
    return tf.where(tf.reshape(has, tf.concat([tf.shape(has), tf.ones([tf.rank(new) - 2], tf.int32)], 0)), new, old)


def _write(buffer, t, column):
    """buffer (B, K, L, ...) with column t replaced by ``column`` (B, K, ...)."""
    at = tf.reshape(tf.one_hot(t, buffer.shape[2], on_value=True, off_value=False),
                    [1, 1, -1] + [1] * (buffer.shape.rank - 3))
    return tf.where(at, tf.expand_dims(column, 2), buffer)


def block_width(width):
    """The size of the blocks ``top_k_of_rows`` splits a row of ``width`` columns into.

    Args:
        width: the row's number of columns.

    Returns:
        The divisor of ``width`` nearest 128 between 64 and 256 (no padding), else 128.
    """
    return next((b for b in sorted(range(64, 257), key=lambda b: abs(b - 128)) if width % b == 0), 128)


def _in_blocks(values, block):
    """(rows, width) → (rows, blocks, block); the last block is padded with −∞ after every real column."""
    blocks = -(-values.shape[-1] // block)
    if blocks * block > values.shape[-1]:
        values = tf.pad(values, [[0, 0], [0, blocks * block - values.shape[-1]]], constant_values=-np.inf)
    return tf.reshape(values, (-1, blocks, block))


@tf.function(jit_compile=True, autograph=False)
def searched_scores(scores, block, banned, logits):
    """A step's (rows, width) scores as the search reads them, in one pass under XLA: the scores plus
    ``banned`` (width,) (0, or −∞ for a word never chosen), the maximum of each block of ``block``
    columns of those (for ``top_k_of_rows``) and, when the scores are ``logits``, log Σ exp(scores)
    per row over every word, banned ones included (a word's log-probability is its logit minus it)."""
    searched = scores + banned
    maxima = tf.reduce_max(_in_blocks(searched, block), axis=-1)
    if not logits:
        return searched, maxima, tf.zeros_like(scores[:, 0])
    top = tf.reduce_max(scores, axis=-1, keepdims=True)
    top = tf.where(tf.math.is_finite(top), top, tf.zeros_like(top))  # no −∞ − −∞ (a row of −∞: −∞)
    return searched, maxima, top[:, 0] + tf.math.log(tf.reduce_sum(tf.exp(scores - top), axis=-1))


def top_k_of_rows(values, k, block=None, maxima=None):
    """``tf.math.top_k(values, k)`` for (rows, width) ``values``, in less time for wide rows.

    The same values and indices as ``tf.math.top_k``, ties to the lower index. The k best of a row
    lie in the k blocks of ``block`` columns with the highest maxima (ties: the lower block), so
    only those are searched. Rows too narrow for that go to ``tf.math.top_k`` itself.

    Args:
        values: a (rows, width) tensor.
        k: how many of each row to keep.
        block: the columns per block (default: a divisor of the width near 128).
        maxima: the blocks' maxima (rows, blocks), when already computed (else computed here).

    Returns:
        A pair ``(values, indices)``, each (rows, k), best first.

    Examples:
        >>> values, indices = top_k_of_rows(tf.constant([[0.0, 3.0, 1.0, 3.0, 2.0]]), 2, block=2)
        >>> values.numpy().tolist(), indices.numpy().tolist()
        ([[3.0, 3.0]], [[1, 3]])
    """
    block = block or block_width(values.shape[-1])
    if -(-values.shape[-1] // block) <= k or block < k:
        return tf.math.top_k(values, k)
    values = _in_blocks(values, block)
    _, best = tf.math.top_k(tf.reduce_max(values, axis=-1) if maxima is None else maxima, k)
    best = tf.sort(best, axis=-1)  # the candidates in column order, so that ties still go to the lower index
    value, position = tf.math.top_k(tf.reshape(tf.gather(values, best, batch_dims=1), (-1, k * block)), k)
    return value, tf.gather(best, position // block, batch_dims=1) * block + position % block


def beam_search(step_fn, state, batch_size, start_id, end_id, beam_size, max_length, logits=False, banned_ids=()):
    """Beam search keeping the ``beam_size`` best partial sequences per image, compiled whole.

    ``state`` holds one row per image; ``step_fn`` reads it so at the first step, and from the second on
    ``batch_size * beam_size`` rows (image b's beams at rows b·K … b·K+K−1). Scores
    are summed log-probabilities (float64). At each step the 2K best extensions are read in order:
    one ending in ``end_id`` joins the image's finished sequences (at most K), another fills the next
    live beam, until K are live. An image is done when it has K finished sequences or when its best
    finished one beats every live beam (scores only fall). At ``max_length`` the live beams compete
    with the finished ones. With ``beam_size=1`` this is greedy search.

    Args:
        step_fn: ``step_fn(tokens, state)`` → ``(log_probs (rows, vocab), new_state, extras)``
            (see the module's description); ``tokens`` are the previous word ids (rows,).
        state: a tuple of tensors, one row per image.
        batch_size: B, the number of images.
        start_id: the id fed at the first step (``<start>``).
        end_id: the id that ends a sequence (``<end>``).
        beam_size: K, the beams kept per image (1: greedy search).
        max_length: the most words a sequence gets, ``<end>`` not counted.
        logits: ``step_fn`` returns logits instead of log-probabilities; the search takes their
            log-softmax only at the words it reads (the normaliser in one pass under XLA; 16-bit
            scores are read in float32). A row whose normaliser is not finite (every logit −∞, or
            one +∞) offers no word.
        banned_ids: word ids never chosen (e.g. ``<pad>`` and ``<start>``); with logits, their
            probability still counts in the normaliser (scores stay the model's log-probabilities).

    Returns:
        A dict of tensors: ``ids`` (B, max_length) int32 without ``<end>``, ``length`` (B,),
        ``score`` (B,) float64, ``finished`` (B,) bool (False: cut at max_length), and ``extras``
        {name: (B, max_length, ...)}; entries past ``length`` are padding. ``hypotheses`` turns it
        into one ``Hypothesis`` per image. ``beams`` holds the same keys for the K best sequences of
        each image, best first, with a beam axis after the image's: (B, K, ...); a score of −∞ marks
        a slot no sequence filled.

    Raises:
        ValueError: a ``batch_size``, ``max_length`` or ``beam_size`` that is not a positive
            integer, a ``state`` tensor without one row per image, or a banned id outside the
            vocabulary.

    Examples:
        A model that says 3, then ``<end>`` (id 2):

        >>> import tensorflow as tf
        >>> says_3 = tf.math.log([[.01, .01, .01, .96, .01]])
        >>> ends = tf.math.log([[.01, .01, .96, .01, .01]])
        >>> def step(tokens, state):
        ...     return tf.where(tokens[:, None] == 3, ends, says_3), state, {"previous": tokens}
        >>> search = tf.function(lambda: beam_search(step, (), 1, start_id=1, end_id=2, beam_size=2, max_length=5))
        >>> (found,) = hypotheses(search())
        >>> found.ids, round(found.score, 4), found.extras["previous"].tolist(), found.finished
        ([3], -0.0816, [1], True)
    """
    check_search(batch_size, max_length, beam_size)
    B, K, L = int(batch_size), int(beam_size), int(max_length)
    neg_inf = tf.constant(-np.inf, tf.float64)
    slots = tf.range(K)

    def advance(t, scores, state, extra, live, done):
        """Step t: extend every live beam by the step's words, keep the best, record finished sequences."""
        # the 2K best extensions of an image are among the 2K best words of each of its beams: those
        # first (top_k over the vocabulary per row), then the 2K best of the K·2K sums; the same
        # choices, ties to the lower beam and word, as one top_k over all K·vocabulary sums
        per_beam = min(2 * K, scores.shape[-1])
        scores, maxima, log_normaliser = searched_scores(tf.cast(scores, dtype), block, banned, logits)
        word_log_prob, words = top_k_of_rows(scores, per_beam, block, maxima)  # (B·K, per_beam), best first
        word_log_prob = tf.where(tf.math.is_finite(log_normaliser)[:, None], word_log_prob - log_normaliser[:, None],
                                 tf.constant(-np.inf, dtype))
        total = tf.reshape(live["score"][:, :, None] + tf.reshape(tf.cast(word_log_prob, tf.float64),
                                                                  (B, K, per_beam)), (B, K * per_beam))
        top_score, top = tf.math.top_k(total, k=min(2 * K, K * per_beam))  # best first; ties: lower index first
        beam, word = top // per_beam, tf.gather(tf.reshape(words, (B, K * per_beam)), top, batch_dims=1)
        valid = tf.cast(tf.math.cumprod(tf.cast(tf.math.is_finite(top_score), tf.int32), axis=1), tf.bool)
        ends = tf.equal(word, end_id)
        alive_before = tf.cumsum(tf.cast(valid & ~ends, tf.int32), axis=1, exclusive=True)
        read = valid & (alive_before < K) & ~done[:, None]  # the candidates read before K are live
        ended = read & ends
        finished_before = live["count"][:, None] + tf.cumsum(tf.cast(ended, tf.int32), axis=1, exclusive=True)
        joins = ended & (finished_before < K)
        # finished sequences: the source beam's words and extras so far, with the score including <end>
        has, index = _first(joins[:, :, None] & tf.equal(finished_before[:, :, None], slots))
        source = _pick(beam, index)
        finished = {"score": _fill(has, _pick(top_score, index), live["fin_score"]),
                    "length": _fill(has, tf.fill((B, K), t), live["fin_length"]),
                    "ids": _fill(has, _pick(live["ids"], source), live["fin_ids"]),
                    "extras": {n: _fill(has, _pick(v, source), live["fin_extras"][n])
                               for n, v in live["extras"].items()}}
        count = live["count"] + tf.reduce_sum(tf.cast(joins, tf.int32), axis=1)
        # live beams: slot k takes the k-th candidate read that does not end
        has, index = _first((read & ~ends)[:, :, None] & tf.equal(alive_before[:, :, None], slots))
        source = tf.where(has, _pick(beam, index), 0)
        chosen = tf.where(has, _pick(word, index), end_id)
        score = tf.where(has, _pick(top_score, index), neg_inf)
        best_finished = tf.reduce_max(tf.where(slots < count[:, None], finished["score"], neg_inf), axis=1)
        done = done | (count >= K) | (best_finished >= tf.reduce_max(score, axis=1))
        extra = {n: tf.reshape(v, (B, K) + tuple(v.shape[1:])) for n, v in extra.items()}
        live = {"score": score, "count": count, "ids": _write(_pick(live["ids"], source), t, chosen),
                "extras": {n: _write(_pick(live["extras"][n], source), t, _pick(extra[n], source))
                           for n in live["extras"]},
                **{f"fin_{k}": v for k, v in finished.items()}}
        rows = tf.reshape(tf.range(B)[:, None] * K + source, (-1,))
        state = tuple(tf.gather(s, rows) for s in state)
        return tf.reshape(chosen, (-1,)), state, live, done

    # the first step runs before the loop, once per image (its K beams would all start alike), and its
    # results are repeated to the K beams, of which only the first is live; its extras give the buffers
    # their shapes and dtypes
    state = tuple(state)
    for i, s in enumerate(state):
        if s.shape[0] not in (None, B):
            raise ValueError(f"state[{i}] has {s.shape[0]} rows; beam_search takes one row per image "
                             f"(batch_size={B}) and repeats it to the beams itself.")
    first = step_fn(tf.fill((B,), tf.constant(start_id, tf.int32)), state)
    scores, first_state, first_extra = tf.nest.map_structure(lambda v: tf.repeat(v, K, axis=0), first) if K > 1 \
        else first
    width, dtype = scores.shape[-1], tf.float32 if scores.dtype.size < 4 else scores.dtype  # 16-bit: read in float32
    if any(not 0 <= i < width for i in banned_ids):
        raise ValueError(f"banned_ids must be word ids in [0, {width}), got {list(banned_ids)}.")
    block, banned = block_width(width), np.zeros(width, dtype.as_numpy_dtype)
    banned[list(banned_ids)] = -np.inf
    buffers = {n: tf.zeros((B, K, L) + tuple(v.shape[1:]), v.dtype) for n, v in first_extra.items()}
    live = {"score": tf.concat([tf.zeros((B, 1), tf.float64), tf.fill((B, K - 1), neg_inf)], axis=1),
            "count": tf.zeros((B,), tf.int32), "ids": tf.zeros((B, K, L), tf.int32), "extras": buffers,
            "fin_score": tf.fill((B, K), neg_inf), "fin_length": tf.zeros((B, K), tf.int32),
            "fin_ids": tf.zeros((B, K, L), tf.int32), "fin_extras": dict(buffers)}
    tokens, state, live, done = advance(tf.constant(0), scores, first_state, first_extra, live,
                                        tf.zeros((B,), tf.bool))

    def body(t, tokens, state, live, done):
        return (t + 1, *advance(t, *step_fn(tokens, state), live, done))

    t, tokens, state, live, done = tf.while_loop(lambda t, tokens, state, live, done: (t < L) & ~tf.reduce_all(done),
                                                 body, (tf.constant(1), tokens, state, live, done),
                                                 maximum_iterations=L - 1)
    # at max_length (images not done) the live beams compete with the finished sequences, after them
    candidates = tf.concat([tf.where(slots < live["count"][:, None], live["fin_score"], neg_inf),
                            tf.where(done[:, None], neg_inf, live["score"])], axis=1)  # (B, 2K)
    best = tf.reduce_max(candidates, axis=1, keepdims=True)
    index = tf.argmax(tf.cast(tf.equal(candidates, best), tf.int32), axis=1, output_type=tf.int32)[:, None]

    def choose(fin, cut, at=index):
        return _pick(tf.concat([fin, cut], axis=1), at)

    ranked_score, ranked = tf.math.top_k(candidates, k=K)  # the K best, best first (ties: finished first)
    beams = {"ids": choose(live["fin_ids"], live["ids"], ranked), "score": ranked_score,
             "length": choose(live["fin_length"], tf.fill((B, K), t), ranked), "finished": ranked < K,
             "extras": {n: choose(live["fin_extras"][n], v, ranked) for n, v in live["extras"].items()}}
    return {"ids": choose(live["fin_ids"], live["ids"])[:, 0], "score": best[:, 0],
            "length": choose(live["fin_length"], tf.fill((B, K), t))[:, 0],
            "finished": index[:, 0] < K,
            "extras": {n: choose(live["fin_extras"][n], v)[:, 0] for n, v in live["extras"].items()},
            "beams": beams}


def hypotheses(decoded, beams=False):
    """The tensors ``beam_search`` returns → one Hypothesis per image (numpy, cut to its length).

    Args:
        decoded: the dict ``beam_search`` returns (tensors or arrays).
        beams: give each image's list of its best sequences (``decoded["beams"]``), best first,
            instead of its best one.

    Returns:
        A list of ``Hypothesis``, one per image, in order; with ``beams``, a list of such lists.

    Examples:
        >>> import numpy as np
        >>> decoded = {"ids": np.array([[4, 7, 0]]), "length": np.array([2]), "score": np.array([-0.5]),
        ...            "finished": np.array([True]), "extras": {}}
        >>> hypotheses(decoded)
        [Hypothesis(ids=[4, 7], score=-0.5, extras={}, finished=True)]
    """
    if beams:
        ranked = decoded["beams"]
        per_beam = [hypotheses({key: (value[:, k] if key != "extras" else {n: v[:, k] for n, v in value.items()})
                                for key, value in ranked.items()}) for k in range(np.asarray(ranked["score"]).shape[1])]
        return [[found for found in row if np.isfinite(found.score)] for row in zip(*per_beam)]
    ids, lengths = np.asarray(decoded["ids"]), np.asarray(decoded["length"])
    scores, finished = np.asarray(decoded["score"]), np.asarray(decoded["finished"])
    extras = {n: np.asarray(v) for n, v in decoded["extras"].items()}
    return [Hypothesis([int(i) for i in ids[b, :lengths[b]]], float(scores[b]),
                       {n: v[b, :lengths[b]] for n, v in extras.items()}, bool(finished[b]))
            for b in range(len(ids))]
