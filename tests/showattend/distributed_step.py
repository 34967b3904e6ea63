"""One training step under a distribution strategy and on one device, from the same weights and the
same global batch; prints what differs as JSON. Run by test_distribution.py in subprocesses:

    python distributed_step.py mirrored          # 2 logical CPU devices, MirroredStrategy
    python distributed_step.py worker I PORTS    # MultiWorkerMirroredStrategy, worker I of PORTS (a,b):
                                                 # distributed_train_step's loop, and whether fit works yet
"""
import contextlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

MODE = sys.argv[1]
if MODE == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
else:
    index, ports = int(sys.argv[2]), sys.argv[3].split(",")
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                          "task": {"type": "worker", "index": index}})
    STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()  # before any other op, as TensorFlow asks

import keras  # noqa: E402

from showattend import Captioner, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402

GLOBAL_BATCH, STEPS, CHANNELS = 8, 7, 64


def batch(vocabulary, attention):
    """A global batch of cached-feature inputs with uneven captions: the second half's are shorter,
    and one row is all padding (it counts for nothing)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(GLOBAL_BATCH, 4, 4, CHANNELS)).astype("float32")
    if attention == "hard":  # identical regions: whichever region is sampled, the likelihood is the same
        features[:] = features[:, :1, :1, :]
    tokens = rng.integers(3, len(vocabulary), size=(GLOBAL_BATCH, 1, STEPS)).astype("int32")
    tokens[:, :, 0] = vocabulary.start_id
    targets = np.concatenate([tokens[:, :, 1:], np.full((GLOBAL_BATCH, 1, 1), vocabulary.end_id, "int32")], -1)
    targets[5:, :, 4:] = vocabulary.pad_id
    tokens[6], targets[6] = vocabulary.pad_id, vocabulary.pad_id
    return {"features": features, "tokens": tokens}, targets


def dataset(x, y):
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


def model(vocabulary, attention, optimizer=None):
    """A small captioner: an LSTM with ``attention`` "soft" or "hard", or ``attention="transformer"``."""
    keras.utils.set_random_seed(0)
    decoder = (dict(decoder="transformer", layers=2, heads=2, width=16, ff_width=32, residual_dropout=0.0)
               if attention == "transformer" else dict(attention=attention, embed_dim=8, units=16, attention_dim=8,
                                                       dropout=0.0, expectation_probability=0.0))
    captioner = Captioner("small_vgg", vocabulary, image_size=(32, 32), train_backbone=False, seed=0, **decoder)
    captioner.compile(optimizer=optimizer or keras.optimizers.SGD(0.5))
    return captioner


def compare(attention, vocabulary, strategy=None):
    strategy = strategy or STRATEGY
    x, y = batch(vocabulary, attention)
    alone = model(vocabulary, attention)
    start = alone.get_weights()
    logs_alone = alone.fit(dataset(x, y), epochs=1, verbose=0).history
    with strategy.scope():
        replicated = model(vocabulary, attention)
    replicated.set_weights(start)
    logs = replicated.fit(dataset(x, y), epochs=1, verbose=0).history
    moved = [np.linalg.norm(b - s) / np.linalg.norm(a - s)
             for a, b, s in zip(alone.get_weights(), replicated.get_weights(), start) if np.linalg.norm(a - s) > 0]
    result = {"max_weight_difference": float(max(np.abs(a - b).max() for a, b in
                                                 zip(alone.get_weights(), replicated.get_weights()))),
              "update_norm_ratio_median": float(np.median(moved)),
              "logs_alone": {k: v[0] for k, v in logs_alone.items()}, "logs": {k: v[0] for k, v in logs.items()},
              "jit_compile": replicated.jit_compile, "replicas": strategy.num_replicas_in_sync}
    if attention == "hard":
        baseline = replicated.decoder.reinforce_baseline
        values = getattr(baseline.value, "values", [baseline.value])
        result.update(baseline_alone=float(alone.decoder.reinforce_baseline.numpy()),
                      baselines=[float(v.numpy()) for v in values])
    return result


def compare_loop(attention, vocabulary):
    """One step of ``distributed_train_step`` (the loop that several workers use, since Keras' fit fails
    under MultiWorkerMirroredStrategy) against one step of fit in this process alone."""
    from showattend.distribution import distributed_train_step

    x, y = batch(vocabulary, attention)
    alone = model(vocabulary, attention)
    start = alone.get_weights()
    loss_alone = alone.fit(dataset(x, y), epochs=1, verbose=0).history["loss"][0]
    with STRATEGY.scope():
        replicated = model(vocabulary, attention)
    replicated.set_weights(start)
    batches = STRATEGY.experimental_distribute_dataset(dataset(x, y))
    logs = distributed_train_step(replicated, STRATEGY)(next(iter(batches)))
    weights = replicated.get_weights()
    result = {"max_weight_difference": float(max(np.abs(a - b).max() for a, b in zip(alone.get_weights(), weights))),
              "moved": float(max(np.abs(b - s).max() for b, s in zip(weights, start))),
              "loss_alone": float(loss_alone), "loss": float(logs["loss"]),
              "checksum": float(sum(np.abs(w).sum() for w in weights))}
    if attention == "hard":
        result.update(baseline_alone=float(alone.decoder.reinforce_baseline.numpy()),
                      baseline=float(replicated.decoder.reinforce_baseline.numpy()))
    return result


def compare_epochs(vocabulary, epochs=2, global_batch=16):
    """fit_workers for 2 epochs on 2 workers, each on its share of 18 images, against one process that
    trains on the same global batches: each step, both workers' batches side by side."""
    from showattend.training.multi_worker import fit_workers, worker_images
    from showattend.training.loop import steps_per_epoch

    data = shapes("train", 18, image_size=32, seed=4)  # 9 images each: 4 steps of 2 (the last batch dropped)
    alone = model(vocabulary, "soft")
    alone.max_length = 4  # every share then pads to 4 words, so that the two halves of a step line up
    start = alone.get_weights()
    step = tf.function(alone.train_step)
    for epoch in range(epochs):
        halves = []
        for k in range(2):
            share = data.subset(worker_images(len(data), 2, k, 0, epoch))
            halves.append(alone.make_dataset(share, batch_size=global_batch // 2, seed=epoch))
        steps = min(steps_per_epoch(alone, data.subset(worker_images(len(data), 2, k, 0, epoch)), global_batch // 2)
                    for k in range(2))
        for first, second in zip(halves[0].take(steps), halves[1].take(steps)):
            step(tf.nest.map_structure(lambda a, b: tf.concat([a, b], 0), first, second))
    with STRATEGY.scope():
        replicated = model(vocabulary, "soft")
        replicated.max_length = 4
    replicated.set_weights(start)
    history = fit_workers(replicated, data, epochs, global_batch)
    weights = replicated.get_weights()
    return {"max_weight_difference": float(max(np.abs(a - b).max() for a, b in zip(alone.get_weights(), weights))),
            "moved": float(max(np.abs(b - s).max() for b, s in zip(weights, start))),
            "epochs": len(history), "checksum": float(sum(np.abs(w).sum() for w in weights))}


def compare_adams(vocabulary):
    """Three FusedAdam steps under the strategy and on one device from the same weights: the fused
    kernel must update each replica's copy of every variable (and of its moments) alike."""
    from showattend.optimizers import FusedAdam

    x, y = batch(vocabulary, "soft")
    start = model(vocabulary, "soft").get_weights()
    weights = {}
    for name, scope in (("alone", contextlib.nullcontext()), ("replicated", STRATEGY.scope())):
        with scope:
            captioner = model(vocabulary, "soft", FusedAdam(1e-2))
        captioner.fit(dataset(x, y), epochs=3, verbose=0)
        weights[name] = captioner.get_weights()
    copies = [[c.numpy() for c in getattr(v.value, "values", [v.value])] for v in captioner.trainable_variables]
    return {"max_weight_difference": float(max(np.abs(a - b).max() for a, b in zip(*weights.values()))),
            "moved": float(max(np.abs(a - b).max() for a, b in zip(weights["replicated"], start))),
            "max_replica_difference": float(max(np.abs(c - cs[0]).max() for cs in copies for c in cs))}


def main():
    data = shapes("train", 8, seed=0)
    vocabulary = Vocabulary.build(data.all_captions(), min_count=1)
    if MODE == "worker":  # fit still fails under MultiWorkerMirroredStrategy (keras#20585): its error, or its step
        results = {"loop": {attention: compare_loop(attention, vocabulary)
                            for attention in ("soft", "hard", "transformer")},
                   "epochs": compare_epochs(vocabulary)}
        try:
            results["fit"] = compare("soft", vocabulary)
        except ValueError as error:
            results["fit_error"] = str(error)[:300]
        print("RESULT " + json.dumps(results))
        return
    results = {attention: compare(attention, vocabulary) for attention in ("soft", "hard", "transformer")}
    if MODE == "mirrored":
        results["one_device"] = compare("soft", vocabulary, tf.distribute.OneDeviceStrategy("/cpu:1"))
        results["adam"] = compare_adams(vocabulary)
        with STRATEGY.scope():
            captioner = model(vocabulary, "soft")
            try:
                captioner.compile(optimizer="sgd", jit_compile=True)
            except ValueError as error:
                results["jit_true_error"] = str(error)
        from showattend.callbacks import CaptionMetrics

        train, val = shapes("train", 16, image_size=32, seed=1), shapes("val", 4, image_size=32, seed=2)
        with STRATEGY.scope():
            keras.utils.set_random_seed(0)
            captioner = Captioner("small_vgg", vocabulary, embed_dim=8, units=16, attention_dim=8, max_length=6)
            captioner.compile(optimizer="adam")
        history = captioner.fit(train, validation_data=val, epochs=1, batch_size=8, verbose=0,
                                callbacks=[CaptionMetrics(val, max_images=4)])
        results["fit_logs"] = sorted(history.history)
        results["caption"] = captioner.caption(val.images[:1], beam_size=2)[0].text
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()
