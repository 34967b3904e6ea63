"""The captioner under tf.distribute: sums across replicas, and the jit_compile that works."""
import tensorflow as tf


def replicas_in_sync():
    """How many replicas the active strategy runs a step on (1 without a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_sum(value):
    """``value`` summed over the replicas of the active strategy (itself when there is one replica),
    so that every replica can divide by a global-batch count."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def jit_compile_for_strategy(jit_compile):
    """``jit_compile`` as Keras should get it under the active strategy.

    "auto" keeps Keras' choice (XLA on a GPU) with one replica and turns XLA off with several: Keras 3
    compiles the whole replicated step, and XLA cannot reach the other devices' copies of the
    variables. An explicit True with several replicas is refused for the same reason.
    """
    replicas = replicas_in_sync()
    if replicas == 1:
        return jit_compile
    if jit_compile is True:
        raise ValueError(f"jit_compile=True cannot train under {type(tf.distribute.get_strategy()).__name__} with "
                         f"{replicas} replicas: XLA compiles the whole replicated step and cannot reach variables on "
                         "the other devices (InvalidArgumentError 'Trying to access resource … located in device'). "
                         "Use jit_compile='auto' (XLA off under several replicas) or False.")
    return False if jit_compile == "auto" else jit_compile
