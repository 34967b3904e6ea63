"""A recurrence's weight products whose gradients are taken once over all steps.

Backpropagation through an unrolled loop of T steps gives a weight W used at every step the
gradient ∂L/∂W = Σ_t x_tᵀ g_t as T small products (their inner size is the batch) and a sum of T
weight-sized matrices. Here each step multiplies by W with the gradient stopped and adds a zero
"probe" whose gradient is g_t; the probe's gradient with respect to W is then Xᵀ G over all steps at
once, one large product, and ∂L/∂x_t comes from a transposed copy of W made once.
"""
import tensorflow as tf

__all__ = ["StepProducts"]


class StepProducts:
    """``x_t @ W_1 + h_t @ W_2 + …`` at steps 0, 1, …, T−1 of one unrolled pass, in order.

    Call it once per step with one input per kernel; it returns that step's sum of products. The
    weights' gradient is taken once, over all steps, when the pass is differentiated.

    Args:
        kernels: the weights W_1, W_2, … (in the products' dtype), each (inputs, width).
        steps: T, the number of calls.
        batch: the rows of each input.

    Raises:
        RuntimeError: a call past step T − 1 or with one input too many or too few; a gradient
            taken before all T steps were called.

    Examples:
        >>> import numpy as np
        >>> w = tf.Variable(np.ones((3, 2), "float32"))
        >>> with tf.GradientTape() as tape:
        ...     products = StepProducts([tf.convert_to_tensor(w)], steps=2, batch=1)
        ...     z = [products(tf.constant([[1.0, 2.0, 3.0]])), products(tf.constant([[1.0, 0.0, 0.0]]))]
        ...     loss = tf.reduce_sum(z[0]) + tf.reduce_sum(z[1])
        >>> tape.gradient(loss, w).numpy().tolist()
        [[2.0, 2.0], [2.0, 2.0], [3.0, 3.0]]
    """

    def __init__(self, kernels, steps, batch):
        self.kernels = [tf.convert_to_tensor(k) for k in kernels]
        self.steps, self._inputs = int(steps), [[] for _ in self.kernels]
        width, dtype = self.kernels[0].shape[-1], self.kernels[0].dtype

        @tf.custom_gradient
        def probe(*kernels):
            def gradient(upstream):  # (steps, batch, width): ∂L/∂z_t of every step
                if any(len(inputs) != self.steps for inputs in self._inputs):
                    raise RuntimeError(f"StepProducts was called {len(self._inputs[0])} times for {self.steps} steps.")
                g = tf.reshape(upstream, (-1, width))
                return [tf.matmul(tf.reshape(tf.stack(inputs), (-1, kernel.shape[0])), g, transpose_a=True)
                        for inputs, kernel in zip(self._inputs, kernels)]

            return tf.zeros((self.steps, batch, width), dtype), gradient

        self._probes = tf.unstack(probe(*self.kernels), num=self.steps)
        self._transposed = [transposed(k) for k in self.kernels]

    def __call__(self, *inputs):
        t = len(self._inputs[0])
        if t >= self.steps or len(inputs) != len(self.kernels):
            raise RuntimeError(f"StepProducts takes {len(self.kernels)} inputs per step for {self.steps} steps; "
                               f"got {len(inputs)} inputs at step {t}.")
        total = self._probes[t]
        for x, kernel, transposed, seen in zip(inputs, self.kernels, self._transposed, self._inputs):
            total = total + _product(x, tf.stop_gradient(kernel), tf.stop_gradient(transposed))
            seen.append(tf.stop_gradient(x))
        return total


def transposed(matrix):
    """matrixᵀ as a tensor of its own, made once.

    ∂L/∂x_t = g_t Wᵀ at every step: a product with ``transpose_b`` re-lays W out at every call
    (slower for the LSTM's kernel on a CPU), and TensorFlow's graph optimizer folds a plain
    Transpose feeding a MatMul back into ``transpose_b``. Transposing through a 3-D view keeps the
    copy.

    Args:
        matrix: a 2-D tensor (rows, columns).

    Returns:
        Its transpose (columns, rows).
    """
    rows, columns = matrix.shape
    return tf.reshape(tf.transpose(tf.reshape(matrix, (1, rows, columns)), (0, 2, 1)), (columns, rows))


def _product(x, kernel, transposed):
    """x @ kernel, differentiable in x only, its gradient a product with ``transposed`` = kernelᵀ."""

    @tf.custom_gradient
    def product(x):
        return tf.matmul(x, kernel), lambda g: tf.matmul(g, transposed)

    return product(x)
