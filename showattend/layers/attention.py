"""Attention over image regions: a score per region and a softmax over regions.

Every score layer has ``project(features)``, computed once per image, and ``scores(projected, h)``
per step; ``call`` returns α = softmax over regions. In an unrolled pass the decoder also gives
``scores`` the layer's ``step_products`` (its weight gradient over all steps at once).

``scores(projected, h, beams=K)``: ``h`` holds K rows per image (a beam search's beams, image b's at
rows b·K … b·K+K−1); the scores broadcast the image's regions over its K rows instead of reading a
copy per row.
"""
import math

import keras
from keras import ops

from showattend.layers.step_products import StepProducts

SCORES = ("additive", "dot", "general")

__all__ = ["SCORES", "AdditiveAttention", "DotAttention", "GeneralAttention", "make_attention"]


def per_image(rows, beams):
    """(images·K, ...) → (images, K, ...) for K = ``beams`` rows per image."""
    return ops.reshape(rows, (-1, beams, *rows.shape[1:]))


def per_row(values):
    """(images, K, ...) → (images·K, ...), the inverse of ``per_image``."""
    return ops.reshape(values, (-1, *values.shape[2:]))


class _Score(keras.layers.Layer):
    def __init__(self, attention_dim, **kwargs):
        super().__init__(**kwargs)
        self.attention_dim = int(attention_dim)

    def call(self, projected, hidden, beams=1):
        return ops.softmax(self.scores(projected, hidden, beams=beams), axis=-1)

    def step_products(self, steps, batch):
        """A StepProducts for the hidden state's projection over ``steps`` steps, or None."""
        return None


class _ProjectedQuery(_Score):
    """A score that reads the hidden state through ``hidden_projection`` (U_h h_{t-1}, no bias)."""

    def step_products(self, steps, batch):
        return StepProducts([ops.cast(self.hidden_projection.kernel, self.compute_dtype)], steps, batch)

    def query(self, hidden, products=None):
        if products is None:
            return self.hidden_projection(hidden)
        return products(ops.cast(hidden, self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "attention_dim": self.attention_dim}


@keras.saving.register_keras_serializable(package="showattend")
class AdditiveAttention(_ProjectedQuery):
    """The paper's MLP score: e_ti = w^T tanh(W_a a_i + U_h h_{t-1} + b).

    Args:
        attention_dim: the size of the projections W_a a_i and U_h h_{t-1}.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Examples:
        >>> import numpy as np
        >>> attention = AdditiveAttention(16)
        >>> regions = attention.project(np.ones((2, 9, 8), "float32"))
        >>> alpha = attention(regions, np.ones((2, 4), "float32"))
        >>> tuple(alpha.shape)
        (2, 9)
    """

    def __init__(self, attention_dim, **kwargs):
        super().__init__(attention_dim, **kwargs)
        self.region_projection = keras.layers.Dense(self.attention_dim, name="region_projection")
        self.hidden_projection = keras.layers.Dense(self.attention_dim, use_bias=False, name="hidden_projection")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")

    def build_regions(self, features_shape):
        """Build the region projection W_a for region features of ``features_shape``.

        Args:
            features_shape: the regions' shape, ``(batch, regions, features)`` (``None`` allowed
                for the first two).
        """
        self.region_projection.build(features_shape)

    def build(self, projected_shape, hidden_shape):
        self.hidden_projection.build(hidden_shape)
        self.score.build((None, None, self.attention_dim))

    def project(self, features):
        """Project the regions once per image: W_a a_i + b.

        Args:
            features: region features (batch, regions, features).

        Returns:
            A tensor (batch, regions, attention_dim).
        """
        return self.region_projection(features)  # (batch, regions, attention_dim)

    def scores(self, projected, hidden, products=None, beams=1):
        """The scores e_ti of every region (before the softmax) for hidden states ``hidden``.

        Args:
            projected: the regions as ``project`` returns them (images, regions, attention_dim).
            hidden: h_{t-1}, (images·beams, units).
            products: this pass's ``step_products`` in an unrolled pass, else None.
            beams: rows of ``hidden`` per image (image b's at rows b·K … b·K+K−1).

        Returns:
            A tensor (images·beams, regions).
        """
        query = per_image(self.query(hidden, products), beams)  # (batch, K, attention_dim)
        energy = ops.tanh(ops.expand_dims(projected, 1) + ops.expand_dims(query, 2))  # (batch, K, regions, ·)
        return per_row(ops.squeeze(self.score(energy), -1))  # (batch·K, regions)


@keras.saving.register_keras_serializable(package="showattend")
class DotAttention(_ProjectedQuery):
    """Scaled dot product of projections: e_ti = (W_a a_i) · (U_h h_{t-1}) / √d, d = attention_dim.

    Args:
        attention_dim: d, the size of the projections W_a a_i and U_h h_{t-1}.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Examples:
        >>> import numpy as np
        >>> attention = DotAttention(16)
        >>> regions = attention.project(np.ones((2, 9, 8), "float32"))
        >>> alpha = attention(regions, np.ones((2, 4), "float32"))
        >>> tuple(alpha.shape), np.round(alpha.numpy().sum(axis=-1), 5).tolist()
        ((2, 9), [1.0, 1.0])
    """

    def __init__(self, attention_dim, **kwargs):
        super().__init__(attention_dim, **kwargs)
        self.region_projection = keras.layers.Dense(self.attention_dim, use_bias=False, name="region_projection")
        self.hidden_projection = keras.layers.Dense(self.attention_dim, use_bias=False, name="hidden_projection")

    def build_regions(self, features_shape):
        """Build the region projection W_a for region features of ``features_shape``.

        Args:
            features_shape: the regions' shape, ``(batch, regions, features)`` (``None`` allowed
                for the first two).
        """
        self.region_projection.build(features_shape)

    def build(self, projected_shape, hidden_shape):
        self.hidden_projection.build(hidden_shape)

    def project(self, features):
        """Project the regions once per image: W_a a_i (no bias).

        Args:
            features: region features (batch, regions, features).

        Returns:
            A tensor (batch, regions, attention_dim).
        """
        return self.region_projection(features)

    def scores(self, projected, hidden, products=None, beams=1):
        """The scores e_ti of every region (before the softmax) for hidden states ``hidden``.

        Args:
            projected: the regions as ``project`` returns them (images, regions, attention_dim).
            hidden: h_{t-1}, (images·beams, units).
            products: this pass's ``step_products`` in an unrolled pass, else None.
            beams: rows of ``hidden`` per image (image b's at rows b·K … b·K+K−1).

        Returns:
            A tensor (images·beams, regions).
        """
        query = per_image(self.query(hidden, products), beams)  # (batch, K, d)
        return per_row(ops.einsum("brd,bkd->bkr", projected, query)) / math.sqrt(self.attention_dim)


@keras.saving.register_keras_serializable(package="showattend")
class GeneralAttention(_Score):
    """Luong's "general" (bilinear) score: e_ti = a_i^T W h_{t-1}, W of shape (features, units).

    ``project`` computes a_i^T W once per image; W's size is set by the feature and state sizes
    (``units``), so ``attention_dim`` is not used.

    Args:
        attention_dim: kept in the config like the other scores' (not used by this one).
        units: the size of the hidden state h_{t-1} that the score reads.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Examples:
        >>> import numpy as np
        >>> attention = GeneralAttention(16, units=4)
        >>> regions = attention.project(np.ones((2, 9, 8), "float32"))
        >>> tuple(regions.shape), tuple(attention(regions, np.ones((2, 4), "float32")).shape)
        ((2, 9, 4), (2, 9))
    """

    def __init__(self, attention_dim, units, **kwargs):
        super().__init__(attention_dim, **kwargs)
        self.units = int(units)
        self.bilinear = keras.layers.Dense(self.units, use_bias=False, name="bilinear")

    def build_regions(self, features_shape):
        """Build the bilinear weight W for region features of ``features_shape``.

        Args:
            features_shape: the regions' shape, ``(batch, regions, features)`` (``None`` allowed
                for the first two).
        """
        self.bilinear.build(features_shape)

    def build(self, projected_shape, hidden_shape):
        pass

    def project(self, features):
        """Compute a_i^T W once per image.

        Args:
            features: region features (batch, regions, features).

        Returns:
            A tensor (batch, regions, units).
        """
        return self.bilinear(features)  # (batch, regions, units)

    def scores(self, projected, hidden, products=None, beams=1):
        """The scores e_ti of every region (before the softmax) for hidden states ``hidden``.

        Args:
            projected: the regions as ``project`` returns them (images, regions, units).
            hidden: h_{t-1}, (images·beams, units).
            products: not used (the score has no weight on the hidden state); accepted as every
                score layer's ``scores`` takes it.
            beams: rows of ``hidden`` per image (image b's at rows b·K … b·K+K−1).

        Returns:
            A tensor (images·beams, regions).
        """
        hidden = per_image(ops.cast(hidden, projected.dtype), beams)
        return per_row(ops.einsum("bru,bku->bkr", projected, hidden))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def make_attention(kind, attention_dim, units, name="attention"):
    """The score layer ``kind`` (one of ``SCORES``) for hidden states of size ``units``.

    Args:
        kind: "additive" (the paper's MLP), "dot" (scaled dot product) or "general" (bilinear).
        attention_dim: the size of the projections (not used by "general").
        units: the size of the decoder's hidden state.
        name: the layer's name.

    Returns:
        An ``AdditiveAttention``, ``DotAttention`` or ``GeneralAttention`` layer.

    Raises:
        ValueError: when ``kind`` is not one of ``SCORES``.

    Examples:
        >>> type(make_attention("dot", attention_dim=16, units=32)).__name__
        'DotAttention'
    """
    if kind not in SCORES:
        raise ValueError(f"Unknown attention_score {kind!r}. Accepted: {', '.join(SCORES)}.")
    if kind == "general":
        return GeneralAttention(attention_dim, units, name=name)
    return {"additive": AdditiveAttention, "dot": DotAttention}[kind](attention_dim, name=name)
