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


def distributed_train_step(model, strategy=None):
    """One training step of a compiled ``model`` on one batch of a distributed dataset.

    Each replica runs the model's own ``train_step`` (its loss, the REINFORCE baseline, its metrics)
    on its share of the global batch, and the optimizer sums the gradients across replicas and
    processes. This is what ``fit`` does, without Keras' wrapper around it, which fails under
    ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585): it works under that strategy as under
    ``MirroredStrategy`` and ``OneDeviceStrategy``. Make ``model`` under ``strategy.scope()``.

    Args:
        model: A compiled Captioner (or any compiled Keras model), made under ``strategy``'s scope.
        strategy: The ``tf.distribute`` strategy; by default the one ``model`` was made under.

    Returns:
        A ``tf.function`` that takes a batch of a distributed dataset
        (``strategy.experimental_distribute_dataset(...)`` or ``distribute_datasets_from_function``)
        and returns the step's logs, each a scalar averaged over the replicas.

    Examples:

        >>> import keras
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 8, image_size=32)
        >>> strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        >>> with strategy.scope():
        ...     model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=8,
        ...                       embed_dim=8, attention_dim=8)
        ...     model.compile(optimizer="sgd")
        >>> batches = strategy.experimental_distribute_dataset(model.make_dataset(data, batch_size=8))
        >>> logs = distributed_train_step(model, strategy)(next(iter(batches)))
        >>> sorted(logs), bool(logs["loss"] > 0)
        (['attention_penalty', 'cross_entropy', 'loss'], True)
    """
    strategy = strategy or model.distribute_strategy
    if not model.optimizer.built:
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)

    @tf.function
    def step(batch):
        logs = strategy.run(model.train_step, args=(batch,))
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

    return step
