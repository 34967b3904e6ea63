"""From a Captioner's region features to Captions: its compiled encoder and its caption search.

The search is ``showattend.generation``'s, compiled whole; ``Captioner.caption`` calls it and gives
back one ``Caption`` per image.
"""
import dataclasses

import numpy as np

from showattend.generation import beam_search, check_search, hypotheses

__all__ = ["Caption"]


@dataclasses.dataclass
class Caption:
    """One generated caption: its words, its log-probability and, if asked for, where it looked.

    ``attention[i]`` (grid_h, grid_w), summing to 1, is the map that produced ``tokens[i]``;
    ``beta[i]`` is the gate's value at that step. ``regions[i]`` is the grid cell (row, col) that a
    hard-attention model read for ``tokens[i]`` when captioning with ``sample=True`` or ``argmax=True``.
    ``Captioner.caption`` makes them; ``showattend.visualize`` draws their attention.

    Attributes:
        text: the words joined by spaces.
        tokens: the words, a list of strings.
        score: the caption's log-probability (the search's score).
        attention: (words, grid_h, grid_w) float32, with ``return_attention=True``; else None.
        beta: (words,) float32 gate values, with ``return_attention=True``; else None.
        regions: (words, 2) ints, the (row, col) read for each word, with ``sample`` or ``argmax``; else None.

    Examples:
        >>> import numpy as np
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.5,
        ...                   attention=np.full((3, 2, 2), 0.25, "float32"), beta=np.ones(3, "float32"))
        >>> caption.attention.shape, float(caption.attention[0].sum())
        ((3, 2, 2), 1.0)
        >>> caption.to_dict()["attention"][0]
        [[0.25, 0.25], [0.25, 0.25]]
    """

    text: str
    tokens: list
    score: float
    attention: np.ndarray = None
    beta: np.ndarray = None
    regions: np.ndarray = None

    def to_dict(self):
        """A JSON-ready dict: text, tokens, score, and attention, beta and regions where present.

        Returns:
            A dict of plain Python values (arrays as nested lists).
        """
        out = {"text": self.text, "tokens": self.tokens, "score": self.score}
        if self.attention is not None:
            out["attention"] = self.attention.tolist()
        if self.beta is not None:
            out["beta"] = self.beta.tolist()
        if self.regions is not None:
            out["regions"] = self.regions.tolist()
        return out


def compiled_functions(model):
    """The model's encoder and its whole caption search as tf.functions, kept on the model.

    The search is traced once per (batch size, beam size, max length, reading, what it keeps) and
    runs every step of greedy or beam search inside one graph (``showattend.generation``).
    """
    if model._generation_functions is None:
        import tensorflow as tf

        def encode(images):
            return model.encode(images, training=False)

        def search(regions, beam_size, max_length, reading, keep_attention):
            decoder, ids = model.decoder, model.vocabulary
            # A float32 decoder's recurrence (attention, gate, LSTM and the deep output's tanh layer) runs
            # under XLA, which fuses the attention's sum, tanh and score into one pass over the regions;
            # the product over the vocabulary and the search's bookkeeping stay with TensorFlow's own
            # kernels (faster there on a CPU), and the search normalises the logits only where it reads
            # them (beam_search(logits=True): one XLA pass over the float32 logits per step). Of the
            # layouts measured (no XLA, the whole step under it, the recurrence alone, the whole search
            # under it), the recurrence alone was the fastest and the whole search by far the slowest;
            # the figures are on the benchmarks pages. Under a 16-bit policy, XLA's rounding dropped a
            # bfloat16 model's agreement with the float32 one's captions below 95 % (94 of 100 shapes
            # test images), so there the step runs as is.
            xla = decoder.compute_dtype == "float32"
            features = tf.cast(regions, "float32")
            h, c = tf.function(decoder.initial_state, jit_compile=xla)(features)  # mean over regions, fused
            projected = decoder.attention.project(features)

            def recurrence(embedded, h, c):  # one row per image at the first step, then one per beam
                beams = 1 if h.shape[0] == features.shape[0] else beam_size
                h, c, context, alpha, beta, region, _ = decoder.step(embedded, h, c, features, projected, reading,
                                                                     beams=beams)
                return h, c, decoder.output_features(embedded, h, context, training=False), alpha, beta, region

            recurrence = tf.function(recurrence, jit_compile=xla)

            def step(tokens, state):
                h, c, hidden, alpha, beta, region = recurrence(decoder.embedding(tokens), state[0], state[1])
                logits = tf.cast(decoder.output_logits(hidden), "float32")
                extras = {"alpha": alpha, "beta": beta} if keep_attention else {}
                if reading != "expectation":
                    extras["region"] = region
                return logits, (h, c), extras

            return beam_search(step, (h, c), regions.shape[0], ids.start_id, ids.end_id, beam_size, max_length,
                               logits=True, banned_ids=(ids.pad_id, ids.start_id))

        functions = (tf.function(encode, reduce_retracing=True), tf.function(search))
        object.__setattr__(model, "_generation_functions", functions)
    return model._generation_functions


def check_decoding(model, beam_size, max_length, batch_size, sample, argmax):
    """Validate captioning options; returns (max_length, reading).

    ``max_length`` may exceed the model's own (the length it was trained to): the LSTM decoder has no
    positions, so it can write longer captions. ``beam_size`` may be at most the number of words the
    search can choose from, every word of the vocabulary but ``<pad>`` and ``<start>``: more beams
    than that could never all hold different captions.

    Raises:
        ValueError: a ``batch_size``, ``max_length`` or ``beam_size`` that is not a positive integer,
            a ``beam_size`` over the vocabulary's choosable words (naming both numbers), or a
            ``sample``/``argmax`` the model cannot do.
    """
    max_length = model.max_length if max_length is None else max_length
    check_search(batch_size, max_length, beam_size)
    choosable = len(model.vocabulary) - 2  # every word but <pad> and <start>, which the search never chooses
    if beam_size > choosable:
        raise ValueError(f"beam_size={beam_size} is more than the {choosable} words the search can choose from (the "
                         f"vocabulary's {len(model.vocabulary)} less <pad> and <start>); accepted: 1 to {choosable}.")
    if (sample or argmax) and model.attention_kind != "hard":
        raise ValueError("sample=True and argmax=True read one region per word; they need a model built "
                         "with attention='hard'.")
    if sample and argmax:
        raise ValueError("Choose one of sample=True and argmax=True.")
    return max_length, "sample" if sample else "argmax" if argmax else "expectation"


def caption_regions(model, regions, beam_size, max_length, return_attention, reading="expectation"):
    """Captions of one batch of region features (images, regions, channels)."""
    search = compiled_functions(model)[1]
    hyps = hypotheses(search(regions, int(beam_size), int(max_length), reading, bool(return_attention)))
    captions = []
    for hyp in hyps:
        tokens = model.vocabulary.decode_tokens(hyp.ids)
        caption = Caption(" ".join(tokens), tokens, hyp.score)
        if return_attention:
            caption.attention = hyp.extras["alpha"].astype(np.float32).reshape(-1, *model.grid_shape)
            caption.beta = hyp.extras["beta"].astype(np.float32)
        if reading != "expectation":
            caption.regions = np.stack(np.unravel_index(hyp.extras["region"], model.grid_shape), axis=-1)
        captions.append(caption)
    return captions
