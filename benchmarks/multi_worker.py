"""Training across processes on loopback: 2 workers of one thread each against 1 worker of one thread,
at the paper configuration, and the share of a step spent in the all-reduce.

    python benchmarks/multi_worker.py [--out benchmarks/multi_worker.json] [--steps 10] [--warmup-steps 3]

Each worker is a process of its own with ``TF_CONFIG`` naming a cluster on 127.0.0.1 and TensorFlow
limited to one thread (intra- and inter-op), so that two workers use two cores as two hosts would
use theirs. The model is the paper configuration (``benchmarks/paper_config.py``): 14×14×512 cached
regions, vocabulary 10,000, width 512, captions of 20 words, the soft-attention LSTM with β and the
deep output; each worker's batch is 32 captions (weak scaling: 2 workers run a global batch of 64
in a step). A step is ``distributed_train_step`` under ``MultiWorkerMirroredStrategy``, as
``train --multi-worker`` runs it; its time is the median over ``--steps`` steps after the warm-up.

The all-reduce is timed alone in the same processes: one all-reduce of tensors of every trainable
variable's shape (the gradients a step sums), the median of ``--steps``. Its share is its time over
the step's. With one worker the strategy has nothing to exchange.

Writes JSON and prints the docs page's Markdown table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PER_WORKER_BATCH = 32


def worker(index, ports, steps, warmup_steps):
    """One worker's measurement, printed as ``RESULT {json}``."""
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                          "task": {"type": "worker", "index": index}})
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from showattend.training.cluster import multi_worker_strategy

    strategy = multi_worker_strategy()
    import keras
    import numpy as np

    from data_pipeline import synthetic_vocabulary
    from paper_config import CHANNELS, GRID, WORDS
    from showattend import Captioner
    from showattend.decoders import paper_config
    from showattend.distribution import distributed_train_step

    vocabulary = synthetic_vocabulary()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = Captioner("vgg16", vocabulary, image_size=(224, 224), train_backbone=False, max_length=WORDS, seed=0,
                          **paper_config("lstm"))
        model.compile(optimizer="adam")
    rng = np.random.default_rng(index)
    features = rng.normal(size=(PER_WORKER_BATCH, *GRID, CHANNELS)).astype(np.float16).clip(0, None)
    tokens = rng.integers(4, len(vocabulary), size=(PER_WORKER_BATCH, 1, WORDS + 1)).astype(np.int32)
    tokens[:, :, 0] = vocabulary.start_id
    batch = ({"features": features, "tokens": tokens[..., :-1]}, tokens[..., 1:])

    def make(context):
        return tf.data.Dataset.from_tensors(batch).repeat()

    batches = iter(strategy.distribute_datasets_from_function(make))
    step = distributed_train_step(model)
    seconds = []
    for n in range(warmup_steps + steps):
        started = time.perf_counter()
        float(step(next(batches))["loss"])
        seconds.append(time.perf_counter() - started)
    shapes = [v.shape for v in model.trainable_variables]

    @tf.function
    def all_reduce():
        def replica():
            grads = [tf.ones(shape) for shape in shapes]
            return tf.distribute.get_replica_context().all_reduce("SUM", grads)[0][0]
        return strategy.run(replica)

    reduce_seconds = []
    for n in range(warmup_steps + steps):
        started = time.perf_counter()
        strategy.experimental_local_results(all_reduce())[0].numpy()
        reduce_seconds.append(time.perf_counter() - started)
    parameters = int(sum(np.prod(s) for s in shapes))
    print("RESULT " + json.dumps({"step_seconds": statistics.median(seconds[warmup_steps:]),
                                  "all_reduce_seconds": statistics.median(reduce_seconds[warmup_steps:]),
                                  "trainable_parameters": parameters}), flush=True)


def run_cluster(count, steps, warmup_steps):
    """``count`` worker processes; the chief's result."""
    from showattend.tuning.workers import free_port

    ports = [free_port() for _ in range(count)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    processes = [subprocess.Popen([sys.executable, __file__, "--worker", str(k), "--ports", ",".join(map(str, ports)),
                                   "--steps", str(steps), "--warmup-steps", str(warmup_steps)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for k in range(count)]
    outputs = [p.communicate(timeout=1800) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        if process.returncode:
            raise SystemExit(f"a worker failed ({process.returncode}):\n{err[-3000:]}")
    results = [json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
               for out, _ in outputs]
    chief = results[0]
    return {"workers": count, "threads_per_worker": 1, "global_batch": PER_WORKER_BATCH * count,
            "step_seconds": chief["step_seconds"],
            "images_per_s": PER_WORKER_BATCH * count / max(r["step_seconds"] for r in results),
            "all_reduce_seconds": chief["all_reduce_seconds"] if count > 1 else 0.0,
            "all_reduce_share": chief["all_reduce_seconds"] / chief["step_seconds"] if count > 1 else 0.0,
            "trainable_parameters": chief["trainable_parameters"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "multi_worker.json"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each cluster (fresh processes)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker(args.worker, args.ports.split(","), args.steps, args.warmup_steps)
    from docsite.benchmark_renderers import multi_worker as table
    from record import write_result

    runs = {1: [], 2: []}
    for repeat in range(args.repeats):
        for count in runs:
            runs[count].append(run_cluster(count, args.steps, args.warmup_steps))
            print(runs[count][-1], flush=True)
    parameters = runs[2][0]["trainable_parameters"]
    one, two = (statistics.median(r["images_per_s"] for r in runs[c]) for c in (1, 2))
    reduce_seconds = statistics.median(r["all_reduce_seconds"] for r in runs[2])
    result = {"per_worker_batch": PER_WORKER_BATCH, "steps": args.steps, "warmup_steps": args.warmup_steps,
              "repeats": args.repeats, "trainable_parameters": parameters, "gradient_bytes": parameters * 4,
              "speedup": two / one, "all_reduce_seconds": reduce_seconds,
              "one_worker_step_seconds": statistics.median(r["step_seconds"] for r in runs[1]),
              "loopback_gbit_per_s": parameters * 4 * 8 / reduce_seconds / 1e9,
              "runs": {str(count): found for count, found in runs.items()}}
    write_result(args.out, result)
    print(table(result))


if __name__ == "__main__":
    main()
