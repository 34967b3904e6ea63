"""The Transformer decoder's parts: multi-head attention with explicit masks, and pre-LayerNorm blocks
that run either over a whole caption (training) or one word at a time against a key/value cache
(generation), with the same arithmetic."""
import keras
from keras import ops

__all__ = ["DecoderBlock", "EncoderBlock", "MultiHeadAttention"]

MASKED = -1e9  # a masked score: exp(MASKED − max) is exactly 0 in float32, and a row is never all masked


class MultiHeadAttention(keras.layers.Layer):
    """Scaled dot-product attention with ``heads`` heads over ``width`` features, masks written out.

    Keras' own layer once dropped its causal mask with dropout or ``return_attention_scores``
    (keras #23038); here the mask is an argument and the probabilities are computed, in float32
    under a mixed-precision policy too, where everyone can see them.

    Args:
        width: d, the width of the queries, keys, values and output.
        heads: H, which must divide ``width``.
        **kwargs: ``keras.layers.Layer``'s arguments.

    Examples:
        Two queries over three keys, the second query allowed only the first key:

        >>> import numpy as np
        >>> attention = MultiHeadAttention(width=8, heads=2)
        >>> attention.build()
        >>> x = np.random.RandomState(0).randn(1, 3, 8).astype("float32")
        >>> mask = np.array([[[True, True, True], [True, False, False]]])
        >>> out, probabilities = attention.attend(attention.queries(x[:, :2]), *attention.keys_values(x), mask=mask)
        >>> tuple(out.shape), tuple(probabilities.shape), probabilities[0, :, 1].numpy().round(3).tolist()
        ((1, 2, 8), (1, 2, 2, 3), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    """

    def __init__(self, width, heads, **kwargs):
        super().__init__(**kwargs)
        self.width, self.heads, self.head_width = width, heads, width // heads
        self.query = keras.layers.Dense(width, name="query")
        self.key = keras.layers.Dense(width, name="key")
        self.value = keras.layers.Dense(width, name="value")
        self.output_projection = keras.layers.Dense(width, name="output")

    def build(self, input_shape=None):
        for dense in (self.query, self.key, self.value, self.output_projection):
            dense.build((None, self.width))

    def split(self, x):
        """Split the features into heads, heads first: the layout the products read without a transpose.

        Args:
            x: (b, n, width).

        Returns:
            (b, heads, n, head_width).
        """
        return ops.transpose(ops.reshape(x, (*ops.shape(x)[:2], self.heads, self.head_width)), (0, 2, 1, 3))

    def queries(self, x):
        """The queries of ``x``, scaled by 1/√d_h.

        Args:
            x: (b, t, width).

        Returns:
            (b, heads, t, head_width).
        """
        return self.split(self.query(x)) * ops.cast(self.head_width ** -0.5, self.compute_dtype)

    def keys_values(self, x):
        """The keys and values of ``x``.

        Args:
            x: (b, n, width).

        Returns:
            A pair of (b, heads, n, head_width).
        """
        return self.split(self.key(x)), self.split(self.value(x))

    def attend(self, queries, keys, values, mask=None):
        """Attention of ``queries`` (b, H, t, d_h) over ``keys``/``values`` (b, H, n, d_h).

        Args:
            queries: from ``queries``.
            keys: from ``keys_values``.
            values: from ``keys_values``.
            mask: None, or booleans broadcastable to (b, t, n): True where a query may look.

        Returns:
            ``(output (b, t, width), probabilities (b, H, t, n) float32)``.
        """
        scores = ops.cast(ops.einsum("bhtd,bhnd->bhtn", queries, keys), "float32")
        if mask is not None:
            scores = ops.where(ops.expand_dims(mask, 1), scores, MASKED)
        probabilities = ops.softmax(scores, axis=-1)
        attended = ops.einsum("bhtn,bhnd->bhtd", ops.cast(probabilities, values.dtype), values)
        attended = ops.reshape(ops.transpose(attended, (0, 2, 1, 3)), (ops.shape(attended)[0], -1, self.width))
        return self.output_projection(attended), probabilities


class _Block(keras.layers.Layer):
    """What both blocks share: a feed-forward of ``ff_width`` and dropout on each residual branch."""

    def __init__(self, width, heads, ff_width, dropout, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.self_attention = MultiHeadAttention(width, heads, name="self_attention")
        self.norm_self = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_self")
        self.norm_feed_forward = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_feed_forward")
        self.feed_forward_in = keras.layers.Dense(ff_width, activation="relu", name="feed_forward_in")
        self.feed_forward_out = keras.layers.Dense(width, name="feed_forward_out")
        self.dropout = keras.layers.Dropout(dropout, seed=seed, name="dropout")

    def build(self, input_shape=None):
        self.self_attention.build()
        self.norm_self.build((None, self.width))
        self.norm_feed_forward.build((None, self.width))
        self.feed_forward_in.build((None, self.width))
        self.feed_forward_out.build((None, self.feed_forward_in.units))

    def feed_forward(self, x, training=None):
        """x + dropout(FF(LayerNorm(x)))."""
        hidden = self.feed_forward_out(self.feed_forward_in(self.norm_feed_forward(x)))
        return x + self.dropout(hidden, training=training)


class EncoderBlock(_Block):
    """A pre-LayerNorm block over the regions: self-attention (no mask), then the feed-forward.

    Args:
        width: d.
        heads: H.
        ff_width: the feed-forward's hidden width.
        dropout: the residual branches' dropout rate.
        seed: the dropout's seed.
        **kwargs: ``keras.layers.Layer``'s arguments.

    Examples:
        >>> import numpy as np
        >>> block = EncoderBlock(width=8, heads=2, ff_width=16, dropout=0.0)
        >>> block.build()
        >>> tuple(block(np.ones((2, 9, 8), "float32")).shape)  # 2 images of 9 regions
        (2, 9, 8)
    """

    def call(self, x, training=None):
        h = self.norm_self(x)
        attended, _ = self.self_attention.attend(self.self_attention.queries(h), *self.self_attention.keys_values(h))
        return self.feed_forward(x + self.dropout(attended, training=training), training)


class DecoderBlock(_Block):
    """A pre-LayerNorm decoder block: causal self-attention, cross-attention over the regions, feed-forward.

    ``call`` runs a whole caption; ``step`` one word per row against a fixed-size key/value cache,
    which it writes at the row's position: the same products, so the logits agree.

    Args:
        width: d.
        heads: H.
        ff_width: the feed-forward's hidden width.
        dropout: the residual branches' dropout rate.
        seed: the dropout's seed.
        **kwargs: ``keras.layers.Layer``'s arguments.

    Examples:
        A word at a time against the cache gives what the whole caption gives:

        >>> import numpy as np
        >>> block = DecoderBlock(width=8, heads=2, ff_width=16, dropout=0.0)
        >>> block.build()
        >>> rng = np.random.RandomState(0)
        >>> words, regions = rng.randn(1, 3, 8).astype("float32"), rng.randn(1, 5, 8).astype("float32")
        >>> memory = block.cross_attention.keys_values(regions)
        >>> whole, _ = block(words, memory, np.tril(np.ones((1, 3, 3), bool)))
        >>> cache = (np.zeros((1, 2, 3, 4), "float32"),) * 2  # (rows, heads, length, head width)
        >>> for t in range(3):
        ...     x, cache, _ = block.step(words[:, t], cache, np.array([t], "int32"), memory)
        >>> bool(np.allclose(x, whole[:, 2], atol=1e-5))
        True
    """

    def __init__(self, width, heads, ff_width, dropout, seed=None, **kwargs):
        super().__init__(width, heads, ff_width, dropout, seed, **kwargs)
        self.cross_attention = MultiHeadAttention(width, heads, name="cross_attention")
        self.norm_cross = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_cross")

    def build(self, input_shape=None):
        super().build(input_shape)
        self.cross_attention.build()
        self.norm_cross.build((None, self.width))

    def call(self, x, memory, causal, training=None):
        """A whole caption.

        Args:
            x: the words' features (b, t, width).
            memory: the cross-attention's keys and values of the regions, each (b, H, regions, d_h).
            causal: booleans (1, t, t), True where word i may look at word j (j ≤ i).
            training: whether the dropout is active.

        Returns:
            ``(x (b, t, width), cross-attention probabilities (b, H, t, regions) float32)``.
        """
        h = self.norm_self(x)
        attended, _ = self.self_attention.attend(self.self_attention.queries(h), *self.self_attention.keys_values(h),
                                                 mask=causal)
        x = x + self.dropout(attended, training=training)
        attended, probabilities = self.cross_attention.attend(self.cross_attention.queries(self.norm_cross(x)), *memory)
        x = x + self.dropout(attended, training=training)
        return self.feed_forward(x, training), probabilities

    def step(self, x, cache, position, memory, beams=1):
        """One word per row, its key and value written into the cache at ``position``.

        Args:
            x: the words' features (rows, width), rows = images · beams.
            cache: the self-attention's ``(keys, values)`` so far, each (rows, H, length, d_h).
            position: each row's position (rows,) int32, less than ``length``.
            memory: the cross-attention's keys and values, each (images, H, regions, d_h): one
                row per image, read by all its ``beams`` rows.
            beams: K, the rows per image.

        Returns:
            ``(x (rows, width), (keys, values) with the word written, cross-attention
            probabilities (rows, H, regions) float32)``.
        """
        h = self.norm_self(x)[:, None]  # (rows, 1, width)
        key, value = self.self_attention.keys_values(h)  # (rows, H, 1, d_h)
        slots = ops.arange(ops.shape(cache[0])[2], dtype="int32")
        here = ops.equal(slots[None, :], position[:, None])[:, None, :, None]  # (rows, 1, length, 1)
        keys, values = (ops.where(here, new, old) for new, old in zip((key, value), cache))
        seen = ops.less_equal(slots[None, :], position[:, None])[:, None, :]  # (rows, 1, length)
        attended, _ = self.self_attention.attend(self.self_attention.queries(h), keys, values, mask=seen)
        x = x + attended[:, 0]
        queries = self.cross_attention.queries(self.norm_cross(x)[:, None])[:, :, 0]  # (rows, H, d_h)
        heads = ops.shape(queries)[1]
        queries = ops.transpose(ops.reshape(queries, (-1, beams, heads, ops.shape(queries)[2])), (0, 2, 1, 3))
        attended, probabilities = self.cross_attention.attend(queries, *memory)  # the image's K rows as its t
        x = x + ops.reshape(attended, (-1, self.width))
        regions = ops.shape(probabilities)[3]  # (images, H, K, regions) → (rows, H, regions)
        probabilities = ops.reshape(ops.transpose(probabilities, (0, 2, 1, 3)), (-1, heads, regions))
        return self.feed_forward(x), (keys, values), probabilities
