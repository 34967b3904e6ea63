"""The LSTM decoder's two ways through the words, unrolled and scanned, at the paper configuration.

    python benchmarks/recurrence_modes.py [--quick] [--json PATH]

In training the decoder unrolls the words (one graph op per word and product, which lets
``StepProducts`` take the weight gradients once over all words); a forward pass alone (the
validation loss, ``evaluate``) scans them with a while loop. For each, at the paper configuration
(``benchmarks/paper_config.py``: 14×14×512 cached features, vocabulary 10,000, batches of 32
captions of 20 words), this measures:

1. the forward pass: tracing seconds (first call less a steady call) and median seconds a batch,
   unrolled (``training=True``, as in a training step) and scanned (``training=False``);
2. the training step: median seconds a batch, unrolled (the default) and scanned
   (``unroll_limit = 0``), which is why training keeps unrolling;
3. a tiny captioner's first ``evaluate`` (tracing included) on captions of 26 words, the size the
   tests use, scanned (today) and unrolled (before).

Each figure is the median, with its min and max, of ``--runs`` runs (default 3), each on a fresh
model, the two paths' order alternating. Prints them and writes ``benchmarks/recurrence_modes.json``
(``--quick``: one run, fewer repeats, JSON to a temporary folder). Never asserts timings.
"""
import argparse
import os
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.data_pipeline import StepTimer, synthetic_vocabulary  # noqa: E402
from benchmarks.paper_config import BATCH, feature_batches, paper_model  # noqa: E402
from showattend import Captioner  # noqa: E402
from record import write_result  # noqa: E402


def finish(outputs):
    """Wait for every output tensor."""
    return [tensor.numpy() for tensor in tf.nest.flatten(outputs)]


def forward(model, batch, training, repeats):
    """(tracing seconds, median seconds a batch) of the model's forward pass alone."""
    run = tf.function(lambda x: model(x, training=training))
    start = time.perf_counter()
    finish(run(batch))
    first = time.perf_counter() - start
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        finish(run(batch))
        seconds.append(time.perf_counter() - start)
    steady = float(np.median(seconds))
    return first - steady, steady


def training_step(vocabulary, unroll, steps):
    """Median seconds of a training step after two warm-up steps."""
    model = paper_model(vocabulary, jit_compile=False)
    if not unroll:
        model.decoder.unroll_limit = 0
    timer = StepTimer(steps + 2)
    model.fit(feature_batches(vocabulary, timer.steps), epochs=1, verbose=0, callbacks=[timer])
    return float(np.median(timer.seconds[2:]))


def tiny_evaluate(unroll):
    """Seconds of a tiny captioner's first ``evaluate`` (tracing included) on 26-word captions."""
    keras.utils.set_random_seed(0)
    vocabulary = synthetic_vocabulary(34)
    model = Captioner("small_vgg", vocabulary, embed_dim=16, units=32, attention_dim=16, max_length=25, seed=0)
    model.compile(optimizer="adam")
    if unroll:  # the decoder as it was: unrolled whenever the steps were known
        call = model.decoder.call
        model.decoder.call = lambda *a, training=None, **k: call(*a, training=True, **k)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(16, *model.image_size, 3)).astype(np.float32)
    tokens = rng.integers(4, len(vocabulary), size=(16, 1, 27)).astype(np.int32)
    data = tf.data.Dataset.from_tensors(({"images": images, "tokens": tokens[..., :-1]}, tokens[..., 1:]))
    start = time.perf_counter()
    model.evaluate(data, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--runs", type=int, default=None, help="runs, each on a fresh model (default: 3; --quick: 1)")
    args = parser.parse_args(argv)
    repeats, steps = (2, 2) if args.quick else (10, 8)
    runs = args.runs or (1 if args.quick else 3)
    vocabulary = synthetic_vocabulary()
    batch = next(iter(feature_batches(vocabulary, 1)))[0]
    measured = {"unrolled": [], "scanned": []}
    for run in range(runs):  # the order alternates, so that neither path always pays a first call's costs
        model = paper_model(vocabulary, jit_compile=False)
        for key in (("unrolled", "scanned") if run % 2 == 0 else ("scanned", "unrolled")):
            trace, seconds = forward(model, batch, key == "unrolled", repeats)
            measured[key].append({"forward_trace_seconds": trace, "forward_seconds_per_batch": seconds,
                                  "training_seconds_per_batch": training_step(vocabulary, key == "unrolled", steps),
                                  "tiny_evaluate_seconds": tiny_evaluate(key == "unrolled")})
        keras.utils.clear_session()
    rows = []
    for key, found in measured.items():
        row = {"key": key}
        for figure in found[0]:
            values = [f[figure] for f in found]
            row.update({figure: float(np.median(values)), f"{figure}_min": min(values), f"{figure}_max": max(values)})
        rows.append(row)
    print(f"median (min-max) over {runs} run(s), each on a fresh model")
    for figure in measured["unrolled"][0]:
        print(f"{figure:<28}" + "".join(f"  {row['key']} {row[figure]:.3f} ({row[figure + '_min']:.3f}-"
                                        f"{row[figure + '_max']:.3f})" for row in rows))
    path = args.json or (os.path.join(tempfile.mkdtemp(), "recurrence_modes.json") if args.quick
                         else os.path.join(ROOT, "benchmarks", "recurrence_modes.json"))
    write_result(path, {"rows": rows, "runs": measured, "settings": {
        "batch": BATCH, "runs": runs, "repeats": repeats, "training_steps": steps, "quick": args.quick}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
