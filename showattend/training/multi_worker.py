"""Training across processes under ``MultiWorkerMirroredStrategy``: each worker's share of the images,
and epochs of ``distributed_train_step`` over them.

The collective strategy has no partial steps: every worker must run the same number of steps, or the
others wait in an all-reduce for ever. So the images are dealt, each epoch, from one permutation
seeded by the seed and the epoch: worker k of W takes every W-th image from position k, and every
worker takes the same count (the ``len(data) % W`` left over sit the epoch out, different ones each
epoch). Every worker computes every worker's number of batches the same way and all run the fewest.
"""
import numpy as np
import tensorflow as tf

from showattend.distribution import distributed_train_step
from showattend.training.loop import steps_per_epoch

__all__ = ["fit_workers", "worker_images"]


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


def _epoch_data(model, data, global_batch, epoch, seed, feature_cache):
    """The distributed dataset of one epoch, of the steps every worker runs."""
    shares = {}

    def share(count, index):
        if (count, index) not in shares:
            shares[count, index] = data.subset(worker_images(len(data), count, index, seed, epoch))
        return shares[count, index]

    def make(context):
        batch = context.get_per_replica_batch_size(global_batch)
        steps = min(steps_per_epoch(model, share(context.num_input_pipelines, k), batch, feature_cache)
                    for k in range(context.num_input_pipelines))
        local = max(context.num_replicas_in_sync // context.num_input_pipelines, 1)  # a worker's replicas
        steps = max(steps // local, 1) * local  # a step takes one batch for each of them
        batches = model.make_dataset(share(context.num_input_pipelines, context.input_pipeline_id), batch_size=batch,
                                     seed=seed + epoch, feature_cache=feature_cache).take(steps)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return batches.with_options(options)

    return model.distribute_strategy.distribute_datasets_from_function(make)


def fit_workers(model, data, epochs, global_batch, seed=0, feature_cache=None, initial_epoch=0, on_epoch_end=None):
    """Train ``model`` for ``epochs`` on ``data`` with ``distributed_train_step``, each worker on its share.

    Call it on every worker with the same arguments. It trains under the strategy whose scope the
    model was made in (``MultiWorkerMirroredStrategy``, or any other).

    Args:
        model: A compiled Captioner, made under its strategy's scope.
        data: The training ``CaptionDataset`` (the whole of it, on every worker).
        epochs: The epoch to stop after (counted from 0, as Keras counts).
        global_batch: Captions in a step over all replicas (a multiple of their number).
        seed: The seed of the dealing and of each worker's shuffle.
        feature_cache: A ``FeatureCache`` of the frozen backbone's features, or None.
        initial_epoch: The epoch to start from (a resumed run).
        on_epoch_end: Called as ``on_epoch_end(epoch, logs)`` after each epoch on every worker,
            ``logs`` the mean of each log over the epoch's steps.

    Returns:
        A list of each epoch's ``logs``.

    Raises:
        ValueError: When ``global_batch`` is not a multiple of the strategy's replicas in sync.

    Examples:
        >>> import keras
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
    step = distributed_train_step(model, strategy)
    history = []
    for epoch in range(initial_epoch, epochs):
        totals, steps = {}, 0
        for batch in _epoch_data(model, data, global_batch, epoch, seed, feature_cache):
            for name, value in step(batch).items():
                totals[name] = totals.get(name, 0.0) + float(value)
            steps += 1
        logs = {name: total / max(steps, 1) for name, total in totals.items()}
        history.append(logs)
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)
    return history
