"""Recurrent cells that the decoder steps by hand (it needs the state between steps).

Every cell maps ``(inputs, (h, c))`` to ``(h, c)``; the GRU has no cell state and passes ``c`` through.
The state is float32 under a mixed-precision policy too (the products run in the compute dtype).
"""
import keras
from keras import ops

from showattend.layers.step_products import StepProducts

CELLS = ("lstm", "peephole_lstm", "cifg_lstm", "gru")
LSTM_VARIANTS = tuple(cell for cell in CELLS if cell != "gru")  # the cells LSTMCell computes


class _Cell(keras.layers.Layer):
    """A cell whose state Keras does not convert: under a mixed-precision policy Keras would round
    every float argument to the compute dtype, the float32 (h, c) included. The cells cast what
    their products read themselves."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False

    def __call__(self, inputs, states, **kwargs):
        states = tuple(ops.convert_to_tensor(s) for s in states)
        return super().__call__(ops.convert_to_tensor(inputs), states, **kwargs)

    def step_products(self, steps, batch):
        """For an unrolled pass of ``steps`` steps: a StepProducts that the cell's ``products``
        argument takes at every step, or None where the cell has none (its products then run per step)."""
        return None


@keras.saving.register_keras_serializable(package="showattend")
class LSTMCell(_Cell):
    """The LSTM of the paper and two of its variants (Greff et al., "LSTM: A Search Space Odyssey").

    ``lstm``: gates i, f, o and candidate g from [x; h_{t-1}], forget bias 1.
    ``peephole_lstm``: i and f also see c_{t-1}, o sees c_t, through diagonal weights (zero at start).
    ``cifg_lstm``: coupled input and forget gate, f = 1 − i (no forget weights; the input gate's bias
    starts at −1, so f starts at 1 − σ(−1) ≈ 0.73 as with the forget bias 1 of the others).

    Args:
        units: the size of the state h (and c).
        variant: "lstm", "peephole_lstm" or "cifg_lstm".
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Raises:
        ValueError: when ``variant`` is not one of the three.

    Examples:
        >>> import numpy as np
        >>> cell = LSTMCell(4)
        >>> h, c = cell(np.ones((2, 3), "float32"), (np.zeros((2, 4), "float32"),) * 2)
        >>> tuple(h.shape), tuple(c.shape)
        ((2, 4), (2, 4))
    """

    def __init__(self, units, variant="lstm", **kwargs):
        super().__init__(**kwargs)
        if variant not in LSTM_VARIANTS:
            raise ValueError(f"Unknown LSTM variant {variant!r}; accepted: {', '.join(LSTM_VARIANTS)}.")
        self.units, self.variant = int(units), variant

    @property
    def gates(self):
        return 3 if self.variant == "cifg_lstm" else 4

    def build(self, input_shape):
        n, k = self.units, self.gates
        self.kernel = self.add_weight(shape=(input_shape[-1], k * n), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(n, k * n), initializer="orthogonal", name="recurrent_kernel")
        self.bias = self.add_weight(shape=(k * n,), initializer="zeros", name="bias")
        if self.variant == "cifg_lstm":  # order i, o, g
            self.bias.assign(ops.concatenate([-ops.ones(n), ops.zeros(2 * n)]))
        else:  # order i, f, o, g; forget bias 1
            self.bias.assign(ops.concatenate([ops.zeros(n), ops.ones(n), ops.zeros(2 * n)]))
        if self.variant == "peephole_lstm":
            self.peephole = self.add_weight(shape=(3, n), initializer="zeros", name="peephole")  # i, f, o

    def forget_gate(self, inputs, states):
        """The forget gate f_t for given inputs and state (for inspection and tests).

        Args:
            inputs: x_t, (batch, input size).
            states: ``(h_{t-1}, c_{t-1})``, each (batch, units).

        Returns:
            f_t, (batch, units), in (0, 1); 1 − i_t for the "cifg_lstm" variant.
        """
        h, c = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel) + self.bias
        if self.variant == "cifg_lstm":
            return 1.0 - ops.sigmoid(ops.split(z, 3, axis=-1)[0])
        f = ops.split(z, 4, axis=-1)[1]
        return ops.sigmoid(f + self.peephole[1] * c if self.variant == "peephole_lstm" else f)

    def step_products(self, steps, batch):
        dtype = self.compute_dtype
        return StepProducts([ops.cast(self.kernel, dtype), ops.cast(self.recurrent_kernel, dtype)], steps, batch)

    def call(self, inputs, states, products=None):
        """``products``: this pass's ``step_products`` (the weight gradients over all steps at once)."""
        h, c = states
        x, h_in = ops.cast(inputs, self.compute_dtype), ops.cast(h, self.compute_dtype)
        if products is None:
            z = ops.matmul(x, self.kernel) + ops.matmul(h_in, self.recurrent_kernel)
        else:
            z = products(x, h_in)
        # under mixed precision the products run in the compute dtype, the gates and the state in
        # float32: rounding h and c to bfloat16 at every word would add up along the caption
        z, c = ops.cast(z + self.bias, "float32"), ops.cast(c, "float32")
        if self.variant == "cifg_lstm":
            i, o, g = ops.split(z, 3, axis=-1)
            i = ops.sigmoid(i)
            c = (1.0 - i) * c + i * ops.tanh(g)
            return ops.sigmoid(o) * ops.tanh(c), c
        i, f, o, g = ops.split(z, 4, axis=-1)
        if self.variant == "peephole_lstm":
            i, f = i + self.peephole[0] * c, f + self.peephole[1] * c
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        if self.variant == "peephole_lstm":
            o = o + self.peephole[2] * c
        return ops.sigmoid(o) * ops.tanh(c), c

    def get_config(self):
        return {**super().get_config(), "units": self.units, "variant": self.variant}


@keras.saving.register_keras_serializable(package="showattend")
class GRUCell(_Cell):
    """``keras.layers.GRUCell`` behind the decoder's ``(h, c)`` interface: c is passed through untouched.

    The GRU resets after the recurrent product (Keras' default). Keras writes
    h_t = z·h_{t−1} + (1 − z)·h̃_t, Cho et al. (and REFERENCE.md) h_t = (1 − z)·h_{t−1} + z·h̃_t:
    the same cell with z read as 1 − z.

    Args:
        units: the size of the state h.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Examples:
        >>> import numpy as np
        >>> cell = GRUCell(4)
        >>> c = np.full((2, 4), 7.0, "float32")
        >>> h, c_out = cell(np.ones((2, 3), "float32"), (np.zeros((2, 4), "float32"), c))
        >>> tuple(h.shape), bool((np.asarray(c_out) == c).all())
        ((2, 4), True)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.gru = keras.layers.GRUCell(self.units, name="gru")

    def build(self, input_shape):
        self.gru.build(input_shape)

    def call(self, inputs, states, products=None):
        h, c = states
        h, _ = self.gru(ops.cast(inputs, self.compute_dtype), [ops.cast(h, self.compute_dtype)])
        return ops.cast(h, "float32"), c

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def make_cell(kind, units, name="cell"):
    """The recurrent cell ``kind`` (one of ``CELLS``) with a state of size ``units``.

    Args:
        kind: "lstm" (the paper's), "peephole_lstm", "cifg_lstm" or "gru".
        units: the size of the state.
        name: the layer's name.

    Returns:
        An ``LSTMCell`` of that variant, or a ``GRUCell``.

    Raises:
        ValueError: when ``kind`` is not one of ``CELLS``.

    Examples:
        >>> cell = make_cell("cifg_lstm", 8)
        >>> type(cell).__name__, cell.variant, cell.gates
        ('LSTMCell', 'cifg_lstm', 3)
    """
    if kind not in CELLS:
        raise ValueError(f"Unknown cell {kind!r}. Accepted: {', '.join(CELLS)}.")
    return GRUCell(units, name=name) if kind == "gru" else LSTMCell(units, kind, name=name)
