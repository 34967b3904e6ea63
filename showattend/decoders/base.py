"""The decoder interface: what a ``Captioner``, its loss, its search and its tuner ask of a decoder."""
import keras

from showattend.decoders.options import check_options

__all__ = ["Decoder"]


class Decoder(keras.layers.Layer):
    """A Keras layer that writes words while it attends over image regions.

    A decoder declares its options in ``OPTIONS`` (``showattend.decoders.options.Option``); the
    constructor checks them, ``get_config`` saves them, and the tuner's space, the command line's
    flags and the paper configuration are read from them. It implements:

    - ``call(regions, tokens, training)``: teacher forcing. ``regions`` (batch, regions, channels),
      ``tokens`` (batch, steps) from ``<start>``; returns a dict with ``logits`` (batch, steps,
      vocab) and the per-word extras: ``alpha`` (batch, steps, regions), and ``beta`` (batch,
      steps) where the decoder has a gate.
    - ``context(regions)``: what is computed once per image for generation (projected regions,
      cross-attention keys and values), a tuple with one row per image.
    - ``initial_state(regions)``: the state before the first word, a tuple of (batch, ...) tensors.
    - ``step(tokens, state, context, beams, reading)``: one word. ``tokens`` (rows,) are the
      previous words and ``state`` has one row per row of tokens; ``context`` has one row per
      image, serving ``beams`` rows each (image b's at rows b·K … b·K+K−1). Returns ``(logits
      (rows, vocab) float32, new state, extras)``, extras a dict of per-row tensors (``alpha``,
      ``beta``, ``region``).
    - ``loss_terms(outputs, token_loss, mask, is_caption, training)``: the decoder's own terms of
      the loss beside the cross-entropy, ``{name: (sum over the captions, weight)}``; ``loss_names``
      lists them.

    ``search_step`` hands the compiled search its step; a decoder may compile parts of it there
    (the LSTM runs its recurrence under XLA). ``readings`` are the ways it can read the regions in
    generation ("expectation"; hard attention adds "sample" and "argmax"), and ``max_positions``
    the longest caption it can write (None: no limit). A decoder that places regions in their grid sets
    ``uses_grid`` and takes ``grid_shape=(h, w)``, which a ``Captioner`` passes.

    Args:
        vocab_size: the number of words (ids 0 … vocab_size − 1).
        seed: seeds the decoder's dropout and sampling (None: unseeded).
        **kwargs: the declared options, and ``keras.layers.Layer``'s arguments (``name``,
            ``dtype``, ...).

    Raises:
        ValueError: an option that is not declared, or a bad value of one (naming it and what is
            accepted).

    Examples:
        The LSTM decoder implements it; its step is what the caption search runs:

        >>> import numpy as np
        >>> from showattend.decoders import LSTMDecoder
        >>> decoder = LSTMDecoder(vocab_size=20, embed_dim=8, units=16, attention_dim=8)
        >>> regions = np.ones((2, 9, 12), "float32")  # 2 images of 9 regions
        >>> state, context = decoder.initial_state(regions), decoder.context(regions)
        >>> logits, state, extras = decoder.step(np.array([1, 1]), state, context)
        >>> tuple(logits.shape), tuple(extras["alpha"].shape), decoder.readings
        ((2, 20), (2, 9), ('expectation',))
    """

    OPTIONS = ()
    readings = ("expectation",)
    max_positions = None
    uses_grid = False  # True: the constructor takes grid_shape=(h, w), which a Captioner passes
    registered_name = None  # the name it is registered under: showattend.decoders.register_decoder

    LAYER_ARGUMENTS = ("name", "dtype", "trainable", "autocast")  # what keras.layers.Layer takes

    def __init__(self, vocab_size, seed=None, **kwargs):
        layer = {name: kwargs.pop(name) for name in self.LAYER_ARGUMENTS if name in kwargs}
        super().__init__(**layer)
        given = kwargs  # the declared options, checked below (an undeclared name is refused by name)
        self.options = check_options(self.OPTIONS, given, f"The {self.registered_name or type(self).__name__} decoder")
        self.vocab_size, self.seed = int(vocab_size), seed

    @property
    def loss_names(self):
        """The names of the decoder's own loss terms (``loss_terms``'s keys), tracked in training."""
        return ()

    def describe(self):
        """A few words for the logs.

        Returns:
            A string, e.g. "soft-attention LSTM".
        """
        return self.registered_name or type(self).__name__

    def context(self, regions):
        """What generation computes once per image (projected regions, cross-attention keys and values).

        Args:
            regions: region features (images, regions, channels).

        Returns:
            A tuple of tensors with one row per image.
        """
        raise NotImplementedError

    def initial_state(self, regions):
        """The state before the first word.

        Args:
            regions: region features (batch, regions, channels).

        Returns:
            A tuple of (batch, ...) tensors.
        """
        raise NotImplementedError

    def step(self, tokens, state, context, beams=1, reading="expectation"):
        """One word: the previous words → the next word's logits, the new state and the extras.

        Args:
            tokens: the previous word ids (rows,).
            state: the state, one row per row of ``tokens``.
            context: ``context(regions)``, one row per image.
            beams: K, the rows per image of ``tokens`` and ``state``.
            reading: one of ``readings``.

        Returns:
            ``(logits (rows, vocab) float32, new state, extras)``, extras a dict of per-row
            tensors (``alpha``, and ``beta`` and ``region`` where the decoder has them).
        """
        raise NotImplementedError

    def loss_terms(self, outputs, token_loss, mask, is_caption, training):
        """The decoder's terms of the loss beside the cross-entropy: none by default.

        Args:
            outputs: ``call``'s outputs for the captions.
            token_loss: each word's cross-entropy, −log p(y_t), (captions, steps).
            mask: (captions, steps), 1 for real words and 0 for padding.
            is_caption: (captions,), 1 for a caption and 0 for an all-padding row.
            training: whether the call trains (a term may update its own state, e.g. a baseline).

        Returns:
            ``{name: (sum over the captions, weight in the loss)}``, one entry per ``loss_names``.
        """
        return {}

    def search_step(self, regions, beam_size, reading="expectation", max_length=None):
        """The initial state and the step function that ``showattend.generation.beam_search`` drives.

        Called inside the compiled search. The step function takes the previous words (rows,) and
        the state, with one row per image at the first step and ``beam_size`` rows per image after.

        Args:
            regions: region features (images, regions, channels).
            beam_size: K, the beams per image after the first step.
            reading: one of ``readings``.
            max_length: the most words the search writes (a decoder with a cache sizes it so).

        Returns:
            A pair ``(state, step_fn)``, ``step_fn(tokens, state)`` → ``(logits, state, extras)``.
        """
        context, images = self.context(regions), regions.shape[0]

        def step_fn(tokens, state):
            beams = 1 if tokens.shape[0] == images else beam_size
            return self.step(tokens, state, context, beams=beams, reading=reading)

        return self.initial_state(regions), step_fn

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "seed": self.seed, **self.options}
