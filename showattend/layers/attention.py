"""Attention over image regions: the paper's additive (MLP) score and a softmax over regions."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="showattend")
class AdditiveAttention(keras.layers.Layer):
    """e_ti = w^T tanh(W_a a_i + U_h h_{t-1} + b); α_t = softmax_i(e_t).

    ``project`` computes W_a a_i + b once per image; ``call`` then costs one (units × dim) product
    per step.

    >>> import numpy as np
    >>> attention = AdditiveAttention(16)
    >>> regions = attention.project(np.ones((2, 9, 8), "float32"))
    >>> alpha = attention(regions, np.ones((2, 4), "float32"))
    >>> tuple(alpha.shape)
    (2, 9)
    """

    def __init__(self, attention_dim, **kwargs):
        super().__init__(**kwargs)
        self.attention_dim = int(attention_dim)
        self.region_projection = keras.layers.Dense(self.attention_dim, name="region_projection")
        self.hidden_projection = keras.layers.Dense(self.attention_dim, use_bias=False, name="hidden_projection")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")

    def build_regions(self, features_shape):
        self.region_projection.build(features_shape)

    def build(self, projected_shape, hidden_shape):
        self.hidden_projection.build(hidden_shape)
        self.score.build((None, None, self.attention_dim))

    def project(self, features):
        return self.region_projection(features)  # (batch, regions, attention_dim)

    def scores(self, projected, hidden):
        energy = ops.tanh(projected + ops.expand_dims(self.hidden_projection(hidden), 1))
        return ops.squeeze(self.score(energy), -1)  # (batch, regions)

    def call(self, projected, hidden):
        return ops.softmax(self.scores(projected, hidden), axis=-1)

    def get_config(self):
        return {**super().get_config(), "attention_dim": self.attention_dim}
