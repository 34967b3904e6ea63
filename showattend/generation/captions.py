"""From region features to Captions: any decoder's step driven by the search compiled whole.

``Captioner.caption`` compiles its encoder and this search once (``compiled_search``) and gives
back one ``Caption`` per image (``captions_of``).
"""
import dataclasses

import numpy as np

from showattend.generation.search import beam_search, check_search, hypotheses

__all__ = ["Caption", "captions_of", "check_decoding", "compiled_search"]


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
        beta: (words,) float32 gate values, with ``return_attention=True`` and a decoder that has a
            gate (the LSTM); else None.
        regions: (words, 2) ints, the (row, col) read for each word, with ``sample`` or ``argmax``; else None.
        beams: the search's best captions of the image, best first (this one first), each a ``Caption``,
            with ``return_beams=True``; else None.

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
    beams: list = None

    def _repr_html_(self):
        """Jupyter's view of a caption: its words (with β) and the other beams with their scores.

        ``showattend.visualize.CaptionView(images, captions)`` adds the images and the maps."""
        from showattend.html_view import caption_html

        return caption_html(self)

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
        if self.beams is not None:
            out["beams"] = [dataclasses.replace(beam, beams=None).to_dict() for beam in self.beams]
        return out


def compiled_search(decoder, vocabulary):
    """The whole caption search of ``decoder`` as one tf.function.

    The function takes ``(regions, beam_size, max_length, reading, keep_attention)`` and is traced
    once per (batch size, beam size, max length, reading, what it keeps); every step of greedy or
    beam search runs inside one graph (``showattend.generation.beam_search``), driving the
    decoder's ``search_step``. It returns the search's arrays, which ``captions_of`` reads.

    Args:
        decoder: a ``showattend.decoders.Decoder``.
        vocabulary: the ``Vocabulary`` of its word ids.

    Returns:
        The tf.function.

    Examples:
        >>> import numpy as np
        >>> from showattend import Vocabulary
        >>> from showattend.decoders import make_decoder
        >>> vocabulary = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
        >>> search = compiled_search(make_decoder("lstm", len(vocabulary), units=16), vocabulary)
        >>> found = search(np.ones((2, 9, 4), "float32"), 3, 5, "expectation", True)  # 2 images, beam 3
        >>> [len(c.tokens) <= 5 for c in captions_of(found, vocabulary, (3, 3), return_attention=True)]
        [True, True]
    """
    import tensorflow as tf

    def search(regions, beam_size, max_length, reading, keep_attention):
        state, step = decoder.search_step(regions, beam_size, reading, max_length)
        kept = (("alpha", "beta") if keep_attention else ()) + (("region",) if reading != "expectation" else ())

        def step_keeping(tokens, state):
            logits, state, extras = step(tokens, state)
            return logits, state, {name: extras[name] for name in kept if name in extras}

        return beam_search(step_keeping, state, regions.shape[0], vocabulary.start_id, vocabulary.end_id, beam_size,
                           max_length, logits=True, banned_ids=(vocabulary.pad_id, vocabulary.start_id))

    # autograph=False: the search's loop and branches are explicit (tf.while_loop, tf.cond); converting
    # its functions only cost time (~1.5 s in each process's first caption)
    return tf.function(search, autograph=False)


def check_decoding(decoder, vocabulary, beam_size, max_length, batch_size, sample, argmax):
    """Validate captioning options; returns the reading ("expectation", "sample" or "argmax").

    ``max_length`` may be any positive integer for a decoder without positions (the LSTM), at most
    its ``max_positions`` otherwise. ``beam_size`` may be at most the number of words the search
    can choose from, every word of the vocabulary but ``<pad>`` and ``<start>``: more beams than
    that could never all hold different captions.

    Args:
        decoder: the ``showattend.decoders.Decoder`` that will caption.
        vocabulary: its ``Vocabulary``.
        beam_size: beams kept per image.
        max_length: the most words a caption gets.
        batch_size: images captioned at a time.
        sample: read a region sampled from α at each step.
        argmax: read the most likely region at each step.

    Returns:
        The reading, one of ``decoder.readings``.

    Raises:
        ValueError: a ``batch_size``, ``max_length`` or ``beam_size`` that is not a positive integer,
            a ``beam_size`` over the vocabulary's choosable words (naming both numbers), a
            ``max_length`` over the decoder's positions, or a ``sample``/``argmax`` the decoder
            cannot do.

    Examples:
        >>> from showattend import Vocabulary
        >>> from showattend.decoders import make_decoder
        >>> vocabulary = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
        >>> hard = make_decoder("lstm", len(vocabulary), attention="hard")
        >>> check_decoding(hard, vocabulary, beam_size=3, max_length=10, batch_size=8, sample=False, argmax=True)
        'argmax'
        >>> check_decoding(hard, vocabulary, beam_size=9, max_length=10, batch_size=8, sample=False, argmax=False)
        Traceback (most recent call last):
        ValueError: beam_size=9 is more than the 7 words the search can choose from (the vocabulary's 9 less <pad> and <start>); accepted: 1 to 7.
    """
    check_search(batch_size, max_length, beam_size)
    choosable = len(vocabulary) - 2  # every word but <pad> and <start>, which the search never chooses
    if beam_size > choosable:
        raise ValueError(f"beam_size={beam_size} is more than the {choosable} words the search can choose from (the "
                         f"vocabulary's {len(vocabulary)} less <pad> and <start>); accepted: 1 to {choosable}.")
    if decoder.max_positions is not None and max_length > decoder.max_positions:
        raise ValueError(f"max_length={max_length} is more than the {decoder.max_positions} positions the "
                         f"{decoder.describe()} decoder has; accepted: 1 to {decoder.max_positions}.")
    if sample and argmax:
        raise ValueError("Choose one of sample=True and argmax=True.")
    reading = "sample" if sample else "argmax" if argmax else "expectation"
    if reading not in decoder.readings:
        raise ValueError("sample=True and argmax=True read one region per word; they need a model built "
                         f"with attention='hard' (this one's decoder is a {decoder.describe()}).")
    return reading


def captions_of(found, vocabulary, grid_shape, return_attention, reading="expectation", return_beams=False):
    """The Captions of one search's output (``compiled_search``'s), one per image.

    Args:
        found: what the compiled search returned.
        vocabulary: the ``Vocabulary`` of the word ids.
        grid_shape: (h, w) of the region grid, to shape the attention maps and the regions read.
        return_attention: whether the search kept α and β.
        reading: the reading the search used; other than "expectation", the regions read are kept.
        return_beams: give each caption its image's best captions, best first, as ``beams``.

    Returns:
        A list of ``Caption``.

    Examples:
        ``compiled_search``'s example makes its input; each caption's maps come shaped as the grid:

        >>> import numpy as np
        >>> from showattend import Vocabulary
        >>> from showattend.decoders import make_decoder
        >>> vocabulary = Vocabulary.build(["a red circle"], min_count=1)
        >>> search = compiled_search(make_decoder("lstm", len(vocabulary), units=16), vocabulary)
        >>> (caption,) = captions_of(search(np.ones((1, 4, 4), "float32"), 1, 3, "expectation", True), vocabulary,
        ...                          (2, 2), return_attention=True)
        >>> caption.attention.shape[1:], len(caption.beta) == len(caption.tokens)
        ((2, 2), True)
    """
    def caption_of(hyp):
        tokens = vocabulary.decode_tokens(hyp.ids)
        caption = Caption(" ".join(tokens), tokens, hyp.score)
        if return_attention:
            caption.attention = hyp.extras["alpha"].astype(np.float32).reshape(-1, *grid_shape)
            if "beta" in hyp.extras:  # a decoder without a gate (the Transformer) has none
                caption.beta = hyp.extras["beta"].astype(np.float32)
        if reading != "expectation":
            caption.regions = np.stack(np.unravel_index(hyp.extras["region"], grid_shape), axis=-1)
        return caption

    captions = [caption_of(hyp) for hyp in hypotheses(found)]
    if return_beams:
        for caption, ranked in zip(captions, hypotheses(found, beams=True)):
            caption.beams = [caption_of(hyp) for hyp in ranked]
    return captions
