"""Training across processes under ``MultiWorkerMirroredStrategy``: each worker's share of the images,
and epochs of ``distributed_train_step`` over them.

The collective strategy has no partial steps: every worker must run the same number of steps, or the
others wait in an all-reduce for ever. So the images are dealt, each epoch, from one permutation
seeded by the seed and the epoch: worker k of W takes every W-th image from position k, and every
worker takes the same count (the ``len(data) % W`` left over sit the epoch out, different ones each
epoch). Every worker computes every worker's number of batches the same way and all run the fewest.
"""
import keras
import numpy as np
import tensorflow as tf

from showattend.distribution import distributed_train_step
from showattend.training.cluster import from_chief, is_multi_worker, lost_worker_error
from showattend.training.loop import steps_per_epoch

__all__ = ["FromChief", "fit_workers", "worker_images", "worker_steps"]


def worker_images(num_images, num_workers, index, seed=0, epoch=0):
    """The images worker ``index`` of ``num_workers`` trains on in ``epoch``.

    Args:
        num_images: How many images the training data has.
        num_workers: How many workers (input pipelines) share them.
        index: This worker's index, 0 to ``num_workers - 1``.
        seed: The run's seed.
        epoch: The epoch, from 0: each epoch deals another permutation.

    Returns:
        An int array of ``num_images // num_workers`` image indices; the workers' arrays are disjoint.

    Raises:
        ValueError: When there are fewer images than workers, or ``index`` is not a worker's.

    Examples:
        >>> [worker_images(10, 3, k, seed=0, epoch=0).tolist() for k in range(3)]
        [[4, 7, 9], [6, 3, 0], [2, 5, 8]]
        >>> sorted(np.concatenate([worker_images(10, 2, k, epoch=1) for k in range(2)]).tolist())
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    if not 0 <= index < num_workers:
        raise ValueError(f"Worker index {index} is not one of the {num_workers} workers (0 to {num_workers - 1}).")
    if num_images < num_workers:
        raise ValueError(f"{num_images} training images cannot be shared by {num_workers} workers: each needs one.")
    order = np.random.default_rng([seed, epoch]).permutation(num_images)
    return order[index::num_workers][:num_images // num_workers]


def _num_workers(strategy):
    """The input pipelines of ``strategy``: its cluster's chief and workers, or 1 in one process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not is_multi_worker(strategy):
        return 1
    spec = resolver.cluster_spec().as_dict()
    return sum(len(spec.get(job, ())) for job in ("chief", "worker")) or 1


def worker_steps(model, data, global_batch, epoch=0, seed=0, feature_cache=None, num_workers=None, num_replicas=None):
    """The steps of ``epoch`` that every worker runs, as few as the smallest share allows.

    In each step, every replica takes a batch of its worker's share.

    Args:
        model: The captioner (its ``distribute_strategy`` gives the workers and replicas by default).
        data: The training ``CaptionDataset``.
        global_batch: Captions in a step over all replicas.
        epoch: The epoch, from 0 (the shares are dealt anew each epoch).
        seed: The run's seed.
        feature_cache: A ``FeatureCache``: its unreadable images are not counted.
        num_workers: The workers (input pipelines); None: the strategy's.
        num_replicas: The replicas in sync; None: the strategy's.

    Returns:
        The number of steps, at least 1: what a learning-rate schedule counts in an epoch.

    Examples:
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 100, image_size=32)  # 4 captions an image: 50 images a worker
        >>> worker_steps(None, data, 32, num_workers=2, num_replicas=4)  # 2 images a replica, 2 replicas a worker
        12
    """
    strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
    num_workers = num_workers or _num_workers(strategy)
    num_replicas = num_replicas or strategy.num_replicas_in_sync
    local = max(num_replicas // num_workers, 1)  # the replicas of a worker: each takes a batch of its share
    batches = min(steps_per_epoch(model, data.subset(worker_images(len(data), num_workers, k, seed, epoch)),
                                  global_batch // num_replicas, feature_cache) for k in range(num_workers))
    return max(batches // local, 1)


def _epoch_data(model, data, global_batch, epoch, seed, feature_cache):
    """The distributed dataset of one epoch, of the steps every worker runs."""

    def make(context):
        batch = context.get_per_replica_batch_size(global_batch)
        steps = worker_steps(model, data, global_batch, epoch, seed, feature_cache,
                             num_workers=context.num_input_pipelines, num_replicas=context.num_replicas_in_sync)
        share = data.subset(worker_images(len(data), context.num_input_pipelines, context.input_pipeline_id, seed,
                                          epoch))
        local = max(context.num_replicas_in_sync // context.num_input_pipelines, 1)
        batches = model.make_dataset(share, batch_size=batch, seed=seed + epoch,
                                     feature_cache=feature_cache).take(steps * local)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return batches.with_options(options)

    return model.distribute_strategy.distribute_datasets_from_function(make)


class FromChief(keras.callbacks.Callback):
    """Sends every worker the chief's restored state and, after each epoch, its validation scores.

    So every worker goes on alike. List it after the chief's ``Backup`` and ``CaptionMetrics`` and
    before what reads the scores (``EarlyStopping``, ``ReduceLROnPlateau``): on the chief, ``Backup``
    restores the weights, the optimizer and the epoch; ``FromChief`` then gives them to every worker.
    After each epoch, the logs named ``keys`` are the chief's on every worker.

    Args:
        keys: The logs that only the chief computes.

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 8, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), units=8, embed_dim=8, attention_dim=8)
        >>> model.compile(optimizer="adam")
        >>> history = fit_workers(model, data, epochs=1, global_batch=8, callbacks=[FromChief()])  # its own chief
        >>> sorted(history[0])
        ['attention_penalty', 'cross_entropy', 'loss']
    """

    def __init__(self, keys=("val_bleu4", "val_cider")):
        super().__init__()
        self.keys = tuple(keys)

    def on_train_begin(self, logs=None):
        strategy = self.model.distribute_strategy
        if not is_multi_worker(strategy):
            return
        variables = list(self.model.variables) + list(self.model.optimizer.variables)
        epoch = getattr(self.model, "_initial_epoch", None) or 0
        values = from_chief(strategy, [v.numpy() for v in variables] + [np.array(epoch)])
        for variable, value in zip(variables, values):
            variable.assign(value)
        self.model._initial_epoch = int(values[-1])

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not is_multi_worker(self.model.distribute_strategy):
            return
        values = from_chief(self.model.distribute_strategy, [np.array(float(logs.get(k, 0.0))) for k in self.keys])
        logs.update({k: float(v) for k, v in zip(self.keys, values)})


def fit_workers(model, data, epochs, global_batch, seed=0, feature_cache=None, initial_epoch=0, callbacks=()):
    """Train ``model`` for ``epochs`` on ``data`` with ``distributed_train_step``, each worker on its share.

    Call it on every worker with the same arguments. It trains under the strategy whose scope the
    model was made in (``MultiWorkerMirroredStrategy``, or any other), and calls ``callbacks`` as
    ``fit`` does: when training starts and ends, around each batch and after each epoch, whose logs
    are the means over its steps. A callback that sets ``model._initial_epoch`` when training starts
    (``Backup``) moves the start there; ``model.stop_training`` ends training after the epoch.

    Args:
        model: A compiled Captioner, made under its strategy's scope.
        data: The training ``CaptionDataset`` (the whole of it, on every worker).
        epochs: The epoch to stop after (counted from 0, as Keras counts).
        global_batch: Captions in a step over all replicas (a multiple of their number).
        seed: The seed of the dealing and of each worker's shuffle.
        feature_cache: A ``FeatureCache`` of the frozen backbone's features, or None.
        initial_epoch: The epoch to start from (a resumed run).
        callbacks: Keras callbacks.

    Returns:
        A list of each epoch's ``logs``.

    Raises:
        ValueError: When ``global_batch`` is not a multiple of the strategy's replicas in sync.
        WorkerLostError: When a worker stopped answering (TensorFlow's health check aborted the step).

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 16, image_size=32)
        >>> with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        ...     model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=8,
        ...                       embed_dim=8, attention_dim=8)
        ...     model.compile(optimizer=keras.optimizers.Adam(1e-2))
        >>> history = fit_workers(model, data, epochs=3, global_batch=8)
        >>> len(history), history[-1]["loss"] < history[0]["loss"]
        (3, True)
    """
    strategy = model.distribute_strategy
    if global_batch % strategy.num_replicas_in_sync:
        raise ValueError(f"global_batch {global_batch} is not a multiple of the {strategy.num_replicas_in_sync} "
                         "replicas in sync: every replica takes the same share of a step.")
    try:
        return _train_epochs(model, data, epochs, global_batch, seed, feature_cache, initial_epoch, callbacks)
    except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError) as error:
        raise lost_worker_error(error, strategy) from None


def _train_epochs(model, data, epochs, global_batch, seed, feature_cache, initial_epoch, callbacks):
    step = distributed_train_step(model)
    callbacks = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training, model._initial_epoch = False, None
    callbacks.on_train_begin()
    history = []
    for epoch in range(max(initial_epoch, model._initial_epoch or 0), epochs):
        callbacks.on_epoch_begin(epoch)
        totals, steps = {}, 0
        for batch in _epoch_data(model, data, global_batch, epoch, seed, feature_cache):
            callbacks.on_train_batch_begin(steps)
            logs = {name: float(value) for name, value in step(batch).items()}
            for name, value in logs.items():
                totals[name] = totals.get(name, 0.0) + value
            callbacks.on_train_batch_end(steps, logs)
            steps += 1
        logs = {name: total / max(steps, 1) for name, total in totals.items()}
        callbacks.on_epoch_end(epoch, logs)
        history.append(logs)
        if model.stop_training:
            break
    callbacks.on_train_end()
    return history
