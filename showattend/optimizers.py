"""Adam whose update is TensorFlow's fused kernel.

``keras.optimizers.Adam`` updates each variable with a dozen separate operations (subtract,
multiply, square, square root, divide, three assignments), each a pass over the variable's memory.
``ResourceApplyAdam`` does the same arithmetic in one pass (the benchmarks pages give the time
it saves).
"""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="showattend")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam``, same arguments and arithmetic, updated by ``ResourceApplyAdam``.

    Keras computes ``alpha = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)``, ``m += (g−m)(1−β₁)``, ``v += (g²−v)(1−β₂)``
    and ``θ −= alpha·m/(√v+ε)``; the kernel computes exactly these. A sparse gradient (an embedding's
    ``IndexedSlices``, one slice per occurrence of a word) is summed into a dense one first, so a word
    seen twice in a batch adds (g₁+g₂)² to v. Keras' own Adam squares each slice before the sum
    (g₁²+g₂²): the two differ on embeddings, and only there. ``amsgrad=True`` keeps Keras' own update,
    which the kernel has no form for.

    Examples:

        >>> optimizer = FusedAdam(4e-4, global_clipnorm=5.0)  # keras.optimizers.Adam's arguments
        >>> isinstance(optimizer, keras.optimizers.Adam), round(float(optimizer.learning_rate), 6)
        (True, 0.0004)
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype

        def constant(value):
            return tf.cast(value, dtype)

        step = constant(self.iterations + 1)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(constant(self.beta_1), step), beta2_power=tf.pow(constant(self.beta_2), step),
            lr=constant(learning_rate), beta1=constant(self.beta_1), beta2=constant(self.beta_2),
            epsilon=constant(self.epsilon), grad=tf.cast(tf.convert_to_tensor(gradient), dtype))


def _handle(variable):
    """The resource handle of a Keras variable (under a strategy: this device's copy)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle
