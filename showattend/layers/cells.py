"""Recurrent cells that the decoder steps by hand (it needs the state between steps)."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="showattend")
class LSTMCell(keras.layers.Layer):
    """The LSTM of the paper: gates i, f, o and candidate g from [x; h_{t-1}], forget bias 1.

    >>> import numpy as np
    >>> cell = LSTMCell(4)
    >>> h, c = cell(np.ones((2, 3), "float32"), (np.zeros((2, 4), "float32"),) * 2)
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        n = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * n), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(n, 4 * n), initializer="orthogonal", name="recurrent_kernel")
        self.bias = self.add_weight(shape=(4 * n,), initializer="zeros", name="bias")
        self.bias.assign(ops.concatenate([ops.zeros(n), ops.ones(n), ops.zeros(2 * n)]))  # forget bias 1

    def call(self, inputs, states):
        h, c = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel) + self.bias
        i, f, o, g = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, c

    def get_config(self):
        return {**super().get_config(), "units": self.units}
