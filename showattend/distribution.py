"""The captioner under tf.distribute: sums across replicas, and the jit_compile that works."""
import tensorflow as tf


def replicas_in_sync():
    """How many replicas the active strategy runs a step on.

    Returns:
        The active ``tf.distribute`` strategy's ``num_replicas_in_sync``: 1 without a strategy.

    Examples:

        >>> replicas_in_sync()
        1
        >>> with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        ...     replicas_in_sync()
        1
    """
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_sum(value):
    """``value`` summed over the replicas of the active strategy.

    The captioner's losses divide by a count summed this way, so that every replica divides by the
    number of captions in the global batch.

    Args:
        value: A tensor, computed in a replica's step.

    Returns:
        The sum of ``value`` over the replicas; ``value`` itself outside a replica context or with
        one replica.

    Examples:

        >>> float(replica_sum(tf.constant(3.0)))
        3.0
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def jit_compile_for_strategy(jit_compile):
    """``jit_compile`` as Keras should get it under the active strategy.

    "auto" keeps Keras' choice (XLA on a GPU) with one replica and turns XLA off with several: Keras 3
    compiles the whole replicated step, and XLA cannot reach the other devices' copies of the
    variables. ``Captioner.compile`` passes its ``jit_compile`` through it.

    Args:
        jit_compile: What the user asked for: ``"auto"``, True or False.

    Returns:
        ``jit_compile`` unchanged with one replica; with several, False for ``"auto"`` (and for False).

    Raises:
        ValueError: When ``jit_compile`` is True and the active strategy has several replicas.

    Examples:

        >>> jit_compile_for_strategy("auto"), jit_compile_for_strategy(True)
        ('auto', True)
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
