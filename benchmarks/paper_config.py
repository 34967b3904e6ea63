"""The paper configuration at this machine's limit: training and captioning as shares of what its
large matrix products allow.

    python benchmarks/paper_config.py [--quick] [--json PATH] [--profile DIR]

Configuration (REFERENCE.md): 14×14×512 regions (cached features, as from VGG-16 at 224 px),
vocabulary 10,000, embedding/LSTM/attention 512, deep output and β on, batches of 32 captions of 20
words, one caption per image. In the same run it measures:

1. the limit: the machine's float32 large-matmul throughput (2048×2048 products, GFLOP/s) divided
   by the work per image (``flops_per_image``: training = 3 × the forward pass; captioning = the
   decoder's steps for every beam), so every figure is also a share of this run's own limit;
2. training steps from cached features, XLA off and on (images/s after warm-up steps);
3. captioning throughput at beam 1, 3 and 5 with the search compiled whole (``caption_features``),
   every caption run to at most 20 words, and, for comparison, the step-by-step numpy search the
   package used before (kept in ``tests/showattend/reference_search.py``) at beam 3;
4. the input pipeline alone: decoding and resizing ``--images`` synthetic COCO-sized JPEGs
   (``benchmarks/data_pipeline.py``'s) through the training pipeline, no model;
5. where a training step's time goes: the deep output's product over 10,000 words and the LSTM's
   products, timed alone at the step's shapes as one product each over all 640 caption words
   (forward, and the gradients for inputs and weights), as shares of the step.

Prints a Markdown table and writes ``benchmarks/paper_config.json`` (``--quick``: tiny sizes, JSON to a
temporary folder). ``--profile DIR`` also writes a TensorFlow profiler trace of a few training steps
and one beam-3 call (open it with TensorBoard's profile tab). Never asserts timings.
"""
import argparse
import os
import platform
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.data_pipeline import iterate, synthetic_captions, training_pipeline, write_photos  # noqa: E402
from benchmarks.op_profile import op_summary  # noqa: E402
from showattend import Captioner  # noqa: E402
from showattend.training import PAPER_DECODER  # noqa: E402
from record import write_result  # noqa: E402

GRID, CHANNELS, VOCABULARY, WORDS, BATCH = (14, 14), 512, 10_000, 20, 32
# Option → (default, --quick)
SIZES = {"steps": (10, 2), "warmup_steps": (3, 1), "caption_batches": (3, 1), "images": (128, 8),
         "matmul_seconds": (5.0, 0.5)}


def flops_per_image(beam=None, regions=GRID[0] * GRID[1], dim=CHANNELS, units=512, embed=512, attention=512,
                    vocabulary=VOCABULARY, words=WORDS):
    """Multiply-adds × 2 of the decoder for one image: the training step (forward + backward ≈ 3 ×
    forward) when ``beam`` is None, else captioning with ``beam`` beams for ``words`` words."""
    per_image = 2 * regions * dim * attention + 2 * 2 * dim * units  # the regions' projection, h0 and c0
    per_word = (2 * units * attention + 2 * regions * attention  # attention scores
                + 2 * regions * dim + 2 * units  # context, β
                + 2 * (embed + dim) * 4 * units + 2 * units * 4 * units  # LSTM
                + 2 * units * embed + 2 * dim * embed + 2 * embed * vocabulary)  # deep output
    if beam is None:
        return 3 * (per_image + words * per_word)
    return per_image + beam * words * per_word


def matmul_gflops(seconds, size=2048):
    """float32 GFLOP/s of repeated size×size products on this machine (the limit's numerator)."""
    a = tf.random.normal((size, size))
    product = tf.function(lambda x: tf.matmul(x, a))
    product(a).numpy()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        product(a).numpy()
        calls += 1
    return calls * 2 * size ** 3 / (time.perf_counter() - start) / 1e9


def paper_model(vocabulary, jit_compile):
    keras.utils.set_random_seed(0)
    model = Captioner("vgg16", vocabulary, image_size=(224, 224), train_backbone=False, max_length=WORDS, seed=0,
                      **PAPER_DECODER)
    model.compile(optimizer="adam", jit_compile=jit_compile)
    return model


def feature_batches(vocabulary, count):
    """``count`` batches as the feature cache's pipeline gives them: float16 grids, 20-word captions."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(BATCH, *GRID, CHANNELS)).astype(np.float16).clip(0, None)  # post-ReLU
    words = rng.integers(4, len(vocabulary), size=(BATCH, 1, WORDS + 1)).astype(np.int32)
    words[:, :, 0] = vocabulary.start_id
    x, y = {"features": features, "tokens": words[..., :-1]}, words[..., 1:]
    return tf.data.Dataset.from_tensors((x, y)).repeat(count)


def training(vocabulary, args, jit_compile):
    from benchmarks.data_pipeline import StepTimer

    model = paper_model(vocabulary, jit_compile)
    timer = StepTimer(args.warmup_steps + args.steps)
    model.fit(feature_batches(vocabulary, timer.steps), epochs=1, verbose=0, callbacks=[timer])
    timed = timer.seconds[args.warmup_steps:]
    return BATCH * len(timed) / sum(timed), float(np.median(timed)), model


def captioning(model, beam, args, step_by_step=False):
    """Images/s of captioning 32-image batches at ``beam`` (after one untimed call), and mean words."""
    features = np.random.default_rng(1).normal(size=(BATCH, *GRID, CHANNELS)).astype(np.float32).clip(0, None)
    if step_by_step:
        from tests.showattend.reference_search import reference_captions

        regions = model.regions(features)
        run = lambda: [h.ids for h in reference_captions(model, regions, beam, WORDS)]  # noqa: E731
    else:
        run = lambda: [c.tokens for c in model.caption_features(features, beam_size=beam, max_length=WORDS)]  # noqa
    run()
    start, words = time.perf_counter(), []
    for _ in range(args.caption_batches):
        words += [len(c) for c in run()]
    return BATCH * args.caption_batches / (time.perf_counter() - start), float(np.mean(words))


def step_parts(args):
    """Seconds of the deep output's product over the vocabulary and of the LSTM's products, forward
    and backward, at one training step's shapes (32 captions × 20 words)."""
    rows = BATCH * WORDS
    rng = np.random.default_rng(2)

    def timed(inputs, kernel):
        x, w = tf.Variable(rng.normal(size=inputs).astype("float32")), tf.Variable(
            rng.normal(size=kernel).astype("float32") * 0.01)
        upstream = tf.constant(rng.normal(size=(inputs[0], kernel[1])).astype("float32"))

        @tf.function
        def forward_backward():  # the product, and the gradients for its input and its weight
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(tf.matmul(x, w) * upstream)
            return tape.gradient(out, [x, w])

        [g.numpy() for g in forward_backward()]
        start = time.perf_counter()
        for _ in range(args.steps):
            [g.numpy() for g in forward_backward()]
        return (time.perf_counter() - start) / args.steps

    return {"deep_output_logits": timed((rows, 512), (512, VOCABULARY)),
            "lstm_products": timed((rows, 1024 + 512), (1024 + 512, 4 * 512))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--profile", default=None)
    for option in SIZES:
        parser.add_argument(f"--{option.replace('_', '-')}", type=type(SIZES[option][0]), default=None)
    args = parser.parse_args(argv)
    for option, (default, quick) in SIZES.items():
        if getattr(args, option) is None:
            setattr(args, option, quick if args.quick else default)
    args.json = args.json or (os.path.join(tempfile.mkdtemp(), "paper_config.json") if args.quick
                              else os.path.join(ROOT, "benchmarks", "paper_config.json"))
    folder = tempfile.mkdtemp(prefix="paper_config_")
    paths, _ = write_photos(folder, args.images, seed=0)
    data, vocabulary = synthetic_captions(paths, seed=0)
    gflops = matmul_gflops(args.matmul_seconds)
    limit = {"training": gflops * 1e9 / flops_per_image(), **{f"beam {k}": gflops * 1e9 / flops_per_image(k)
                                                             for k in (1, 3, 5)}}
    print(f"large matmul: {gflops:.1f} GFLOP/s; limits (images/s): "
          + ", ".join(f"{k} {v:.1f}" for k, v in limit.items()), flush=True)
    rows = []

    def add(name, images_per_s, limit_key, **extra):
        share = None if limit_key is None else images_per_s / limit[limit_key]
        rows.append({"measured": name, "images_per_s": images_per_s, "limit_images_per_s": limit.get(limit_key),
                     "share_of_limit": share, **extra})
        print(rows[-1], flush=True)

    step_seconds, models = {}, {}
    for jit in (False, True):
        rate, step_seconds[jit], models[jit] = training(vocabulary, args, jit)
        add(f"training step, cached features, XLA {'on' if jit else 'off'}", rate, "training",
            median_step_seconds=step_seconds[jit])
    model = models[False]  # captions from the XLA-off model (its search is compiled either way)
    for beam in (1, 3, 5):
        rate, words = captioning(model, beam, args)
        add(f"captioning, beam {beam}, search compiled whole", rate, f"beam {beam}", mean_words=words)
    rate, words = captioning(model, 3, args, step_by_step=True)
    add("captioning, beam 3, the earlier step-by-step search", rate, "beam 3", mean_words=words)
    images, seconds = iterate(training_pipeline(data, vocabulary, BATCH, seed=0), passes=1)
    add("input pipeline alone: decode + resize 640×480 JPEGs to 224×224", images / seconds, None)
    parts = step_parts(args)
    profile = {name: {"seconds": s, "share_of_step_xla_off": s / step_seconds[False]} for name, s in parts.items()}
    print("step parts:", profile, flush=True)
    operations = {}
    if args.profile:  # 3 training steps (XLA off) and 3 beam-3 batches, each in a trace of its own
        for name, run in (("training step", lambda: model.fit(feature_batches(vocabulary, 3), epochs=1, verbose=0)),
                          ("beam 3 batch", lambda: captioning(model, 3, argparse.Namespace(
                              **{**vars(args), "caption_batches": 3})))):
            run()  # traced and warmed up outside the trace
            logdir = os.path.join(args.profile, name.replace(" ", "_"))
            tf.profiler.experimental.start(logdir)
            run()
            tf.profiler.experimental.stop()
            runs = 3 if name == "training step" else 4  # captioning() calls once more, untimed
            operations[name] = op_summary(logdir, runs=runs)
            print(f"{name}, ms of each kind of operation:",
                  ", ".join(f"{o['op']} {o['ms_per_run']:.1f}" for o in operations[name]), flush=True)
    write_result(args.json, {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                           "tensorflow": tf.__version__, "matmul_gflops": gflops,
                           "flops_per_image": {"training": flops_per_image(),
                                               **{f"beam {k}": flops_per_image(k) for k in (1, 3, 5)}},
                           "limits_images_per_s": limit, "rows": rows, "step_parts": profile,
                           "operations": operations,
                           "settings": {k: getattr(args, k) for k in SIZES}})
    print("\n| measured | images/s | limit | share |\n|---|---:|---:|---:|")
    for r in rows:
        share = "" if r["share_of_limit"] is None else f"{100 * r['share_of_limit']:.0f}%"
        limit_text = "" if r["limit_images_per_s"] is None else f"{r['limit_images_per_s']:.1f}"
        print(f"| {r['measured']} | {r['images_per_s']:.1f} | {limit_text} | {share} |")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
