"""A Transformer decoder beside the LSTM: attention without recurrence, behind the same interface."""
import keras
from keras import ops

from showattend.decoders.base import Decoder
from showattend.decoders.transformer_options import TRANSFORMER_OPTIONS
from showattend.layers.transformer_blocks import DecoderBlock, EncoderBlock

__all__ = ["TransformerDecoder"]


@keras.saving.register_keras_serializable(package="showattend")
class TransformerDecoder(Decoder):
    """Pre-LayerNorm Transformer blocks that attend over the regions while they write.

    The regions are projected to the width d, given learned row and column embeddings of their
    place in the grid, and optionally read by ``encoder_layers`` self-attention blocks. The words
    are embedded with learned positions and go through ``layers`` blocks of causal self-attention,
    cross-attention over the regions and a feed-forward, each behind a LayerNorm with a residual
    connection; a last LayerNorm and a float32 product over the vocabulary give the logits.

    Each word's map is the cross-attention of the last block averaged over its heads
    (``attention_map="mean"``: over every block too); it sums to 1 over the regions. There is no
    gate β. Generation writes each word's keys and values into a fixed-size cache (one slot per
    position) and reads the regions' keys and values, computed once per image, from all its beams.

    Its options are ``TRANSFORMER_OPTIONS``: ``layers``, ``heads``, ``width``, ``ff_width``,
    ``residual_dropout``, ``encoder_layers``, ``positions``, ``region_positions`` and ``attention_map``.

    Args:
        vocab_size: the number of words (ids 0 … vocab_size − 1).
        seed: seeds the dropout (None: unseeded).
        grid_shape: (h, w) of the region grid, for the row and column embeddings (a ``Captioner``
            passes its backbone's).
        **kwargs: the options above, and ``keras.layers.Layer``'s arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: an unknown option or a bad value of one, heads that do not divide the width, or
            a grid that does not match the regions.

    Examples:
        >>> import numpy as np
        >>> decoder = TransformerDecoder(vocab_size=20, layers=1, heads=2, width=16, ff_width=32, grid_shape=(3, 3))
        >>> out = decoder(np.ones((2, 9, 12), "float32"), np.ones((2, 5), "int32"))
        >>> tuple(out["logits"].shape), tuple(out["alpha"].shape), float(out["alpha"][0, 0].numpy().sum())
        ((2, 5, 20), (2, 5, 9), 1.0)
        >>> TransformerDecoder(vocab_size=20, heads=3, width=16)
        Traceback (most recent call last):
        ValueError: heads=3 must divide width=16.
    """

    OPTIONS = TRANSFORMER_OPTIONS
    registered_name = "transformer"
    uses_grid = True

    def __init__(self, vocab_size, seed=None, grid_shape=None, **kwargs):
        super().__init__(vocab_size, seed, **kwargs)
        o = self.options
        if o["width"] % o["heads"]:
            raise ValueError(f"heads={o['heads']} must divide width={o['width']}.")
        self.grid_shape = None if grid_shape is None else tuple(int(n) for n in grid_shape)
        self.width, self.heads, self.layers = o["width"], o["heads"], o["layers"]

        def seed_of(i):  # each dropout its own stream: one seed for all would drop the same units everywhere
            return None if seed is None else seed + i

        self.region_projection = keras.layers.Dense(self.width, name="region_projection")
        self.encoder_blocks = [EncoderBlock(self.width, self.heads, o["ff_width"], o["residual_dropout"], seed_of(1 + i),
                                            name=f"encoder_block_{i}") for i in range(o["encoder_layers"])]
        self.memory_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="memory_norm")
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.width, name="token_embedding")
        self.blocks = [DecoderBlock(self.width, self.heads, o["ff_width"], o["residual_dropout"], seed_of(100 + i),
                                    name=f"block_{i}") for i in range(self.layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.embedding_dropout = keras.layers.Dropout(o["residual_dropout"], seed=seed, name="embedding_dropout")
        # float32 under a mixed-precision policy too, as for the LSTM: 16-bit logits flip close choices
        self.output_logits = keras.layers.Dense(self.vocab_size, name="output_logits", dtype="float32")

    @property
    def max_positions(self):
        return self.options["positions"]

    def describe(self):
        return f"{self.layers}-layer Transformer"

    def build(self, regions_shape, tokens_shape=None):
        regions, channels = regions_shape[1], regions_shape[2]
        if self.options["region_positions"]:
            if self.grid_shape is None:
                raise ValueError("The Transformer decoder's region positions need grid_shape=(h, w) (a Captioner "
                                 "passes its backbone's); or pass region_positions=False.")
            if regions is not None and self.grid_shape[0] * self.grid_shape[1] != regions:
                raise ValueError(f"grid_shape {self.grid_shape} has {self.grid_shape[0] * self.grid_shape[1]} "
                                 f"regions, but the regions given are {regions}.")
            self.row_positions = self.add_weight(shape=(self.grid_shape[0], self.width), name="row_positions",
                                                 initializer=keras.initializers.RandomNormal(stddev=0.02))
            self.column_positions = self.add_weight(shape=(self.grid_shape[1], self.width), name="column_positions",
                                                    initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.token_positions = self.add_weight(shape=(self.max_positions, self.width), name="token_positions",
                                               initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.region_projection.build((None, channels))
        for block in self.encoder_blocks:
            block.build()
        self.memory_norm.build((None, self.width))
        self.token_embedding.build((None,))
        for block in self.blocks:
            block.build()
        self.final_norm.build((None, self.width))
        self.output_logits.build((None, self.width))

    # --- the parts both passes share --------------------------------------------------------------

    def memory(self, regions, training=None):
        """The regions as the blocks read them: projected, placed, self-attended, normalised.

        Args:
            regions: region features (images, regions, channels), in reading order of the grid.
            training: whether the dropout is active.

        Returns:
            (images, regions, width).
        """
        x = self.region_projection(ops.cast(regions, self.compute_dtype))
        if self.options["region_positions"]:
            place = self.row_positions[:, None, :] + self.column_positions[None, :, :]  # (h, w, width)
            x = x + ops.cast(ops.reshape(place, (1, -1, self.width)), x.dtype)
        x = self.embedding_dropout(x, training=training)
        for block in self.encoder_blocks:
            x = block(x, training=training)
        return self.memory_norm(x)

    def _words(self, tokens, positions, training=None):
        """Word features: token embeddings plus their positions' (``positions`` int, same shape as tokens)."""
        x = self.token_embedding(tokens) + ops.cast(ops.take(self.token_positions, positions, axis=0),
                                                    self.compute_dtype)
        return self.embedding_dropout(x, training=training)

    def _logits(self, x):
        """The last LayerNorm and the product over the vocabulary, float32."""
        return ops.cast(self.output_logits(self.final_norm(x)), "float32")

    def _attention_map(self, probabilities):
        """Each word's map from the blocks' cross-attention probabilities (…, H, regions) per block."""
        if self.options["attention_map"] == "last":
            return ops.mean(probabilities[-1], axis=-2)
        return ops.mean(ops.stack([ops.mean(p, axis=-2) for p in probabilities]), axis=0)

    # --- training --------------------------------------------------------------------------------------

    def call(self, regions, tokens, training=None):
        """Teacher forcing: regions (batch, regions, channels), tokens (batch, steps) from ``<start>``.

        Returns:
            ``{"logits": (batch, steps, vocab) float32, "alpha": (batch, steps, regions) float32}``.

        Raises:
            ValueError: more steps than the decoder's ``positions``.
        """
        steps = tokens.shape[1]
        if steps is not None and steps > self.max_positions:
            raise ValueError(f"{steps} steps are more than the {self.max_positions} positions of this Transformer "
                             "decoder; build it with positions= at least that many.")
        memory = self.memory(regions, training)
        x = self._words(tokens, ops.arange(ops.shape(tokens)[1])[None, :], training)
        causal = ops.tril(ops.ones((ops.shape(tokens)[1],) * 2, dtype="bool"))[None]
        maps = []
        for block in self.blocks:
            x, probabilities = block(x, block.cross_attention.keys_values(memory), causal, training=training)
            maps.append(ops.transpose(probabilities, (0, 2, 1, 3)))  # (batch, steps, H, regions)
        return {"logits": self._logits(x), "alpha": self._attention_map(maps)}

    # --- generation: the decoder interface ------------------------------------------------------------

    def context(self, regions):
        """Once per image: each block's cross-attention keys and values of the regions.

        Args:
            regions: region features (images, regions, channels).

        Returns:
            A tuple ``(keys_0, values_0, keys_1, …)``, each (images, H, regions, d_h).
        """
        memory = self.memory(regions, training=False)
        return tuple(t for block in self.blocks for t in block.cross_attention.keys_values(memory))

    def initial_state(self, regions, length=None):
        """Position 0 and an empty cache: each block's keys and values, one slot per position.

        The cache is a tensor per block for its keys and one for its values, heads first: that is
        the layout the products read, so a step neither transposes, stacks nor slices the cache.

        Args:
            regions: region features (batch, regions, channels); only their number is read.
            length: the cache's slots, the most words it will write (default: ``positions``).

        Returns:
            ``(position (batch,) int32, keys_0, values_0, keys_1, …)``, the keys and values each
            (batch, H, length, d_h).
        """
        length = self.max_positions if length is None else int(length)
        empty = ops.zeros((ops.shape(regions)[0], self.heads, length, self.width // self.heads), self.compute_dtype)
        return (ops.zeros((ops.shape(regions)[0],), "int32"),) + (empty,) * (2 * self.layers)

    def step(self, tokens, state, context, beams=1, reading="expectation"):
        """One word: the previous words → the next word's logits, the cache with them written, the maps.

        Args:
            tokens: the previous word ids (rows,).
            state: ``(position, keys_0, values_0, …)`` from ``initial_state`` or the previous step.
            context: ``self.context(regions)``, one row per image.
            beams: K, the rows per image of ``tokens`` and ``state``.
            reading: "expectation" (a Transformer reads no single region).

        Returns:
            ``(logits (rows, vocab) float32, (position + 1, keys_0, values_0, …) with the words
            written, {"alpha": (rows, regions)})``.
        """
        position, cache = state[0], state[1:]
        x = self._words(tokens, position)
        written, maps = [], []
        for i, block in enumerate(self.blocks):
            x, keys_values, probabilities = block.step(x, cache[2 * i:2 * i + 2], position, context[2 * i:2 * i + 2],
                                                       beams)
            written += keys_values
            maps.append(probabilities)
        return self._logits(x), (position + 1, *written), {"alpha": self._attention_map(maps)}

    def search_step(self, regions, beam_size, reading="expectation", max_length=None):
        """``Decoder.search_step`` with a cache of ``max_length`` slots (what the search writes)."""
        context, images = self.context(regions), regions.shape[0]

        def step_fn(tokens, state):
            beams = 1 if tokens.shape[0] == images else beam_size
            return self.step(tokens, state, context, beams=beams, reading=reading)

        return self.initial_state(regions, max_length), step_fn

    def get_config(self):
        return {**super().get_config(), "grid_shape": None if self.grid_shape is None else list(self.grid_shape)}
