"""Is input or model the bottleneck, and what does the feature cache buy? Images/s of each stage.

    python benchmarks/data_pipeline.py [--images 256] [--folder DIR] [--json PATH] [--quick]

Writes ``--images`` synthetic photos (COCO-like: 640×480 and 480×640 JPEGs, quality 90, ~100–200 KB,
seeded) into ``--folder`` (default: a temporary folder), then measures, at the paper configuration
(VGG-16 with random weights, 224×224 → 14×14×512 regions, vocabulary 10,000, embedding/LSTM/attention
512, batch 32 captions of 20 words, one caption per image so images = captions):

1. the input pipeline alone: PIL decode + resize to 224×224 through ``caption_dataset_to_tf``
   (``decode_path``), no model;
2. decode + resize + the frozen backbone's forward, uncached, on ``--uncached-images``, and the
   forward alone on in-memory images (``benchmarks/backbones.py``'s measure);
3. ``FeatureCache.build`` over every file (item 2 through the cache's own code), then reading the
   features back through the training pipeline's cached branch, no model, and the cache's bytes
   per image on disk;
4. training steps from cached features (``fit(..., feature_cache=)``) with XLA on and off, and
   the same step fed images (the frozen backbone inside the step), after warm-up steps that pay
   for tracing and compilation.

Prints a Markdown table and notes; writes ``benchmarks/data_pipeline.json`` (``--quick``: tiny
sizes to check that everything runs, JSON to a temporary path unless ``--json`` is given). Never
asserts timings. A default run takes about 5–10 minutes on a quiet 2-core CPU, most of it VGG-16.
"""
import argparse
import glob
import math
import os
import platform
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.backbones import images_per_second  # noqa: E402
from cnn_backbones import create_backbone  # noqa: E402
from showattend import CaptionDataset, Captioner, Vocabulary  # noqa: E402
from showattend.data.pipeline import caption_dataset_to_tf  # noqa: E402
from showattend.features import FeatureCache  # noqa: E402
from showattend.training import PAPER_DECODER  # noqa: E402
from record import write_result  # noqa: E402

BACKBONE, IMAGE_SIZE = "vgg16", (224, 224)
VOCABULARY_SIZE, WORDS = 10_000, 20
PHOTO_SIZES = ((640, 480), (480, 640))  # (width, height): COCO's commonest shapes
COCO_IMAGES = 123_287  # train2014 + val2014, for the cache's size at scale

# Option → (default, --quick). Uncached backbone work runs at ~5 images/s on 2 cores, so it gets
# fewer images than the cheap stages.
SIZES = {"images": (256, 16), "uncached_images": (64, 16), "batch_size": (32, 8), "passes": (3, 1),
         "warmup_steps": (2, 1), "steps": (10, 2), "image_steps": (2, 1)}


def synthetic_photo(rng, width, height):
    """A photo-like RGB image: a colour gradient, blurred shapes, blotchy texture and fine grain.

    The texture and grain are what make it photo-like for this purpose: a flat synthetic image
    compresses to a few KB and decodes far faster than a real photo of the same size.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = x * np.cos(angle) + y * np.sin(angle)
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())  # (height, width) in 0..1
    start, end = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    image = Image.fromarray((start + (end - start) * ramp[..., None]).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(4, 12)):
        left, top, side = rng.integers(0, width), rng.integers(0, height), rng.integers(20, 250)
        box = [left, top, left + side, top + int(side * rng.uniform(0.5, 1.5))]
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32)
    blotches = rng.normal(128, 20, (height // 8, width // 8)).clip(0, 255).astype(np.uint8)  # light and shade
    pixels += np.asarray(Image.fromarray(blotches).resize((width, height), Image.BICUBIC), np.float32)[..., None] - 128
    pixels += rng.normal(0, rng.uniform(8, 20), pixels.shape)  # grain sets the JPEG size
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def write_photos(folder, count, seed):
    """``count`` seeded JPEGs in ``folder``; returns their paths and sizes in bytes."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"synthetic_{i:05d}.jpg")
        synthetic_photo(rng, *PHOTO_SIZES[rng.integers(len(PHOTO_SIZES))]).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths, [os.path.getsize(p) for p in paths]


def synthetic_vocabulary(size=VOCABULARY_SIZE):
    """A vocabulary of ``size`` words in all: ``w0``, ``w1``, … and the 4 special tokens."""
    return Vocabulary([f"w{i}" for i in range(size - 4)])


def synthetic_captions(paths, seed):
    """A 10,000-word vocabulary and one caption of exactly ``WORDS`` of its words per image."""
    vocabulary = synthetic_vocabulary()
    words = np.array(vocabulary.words[4:])
    rng = np.random.default_rng(seed)
    captions = [[" ".join(rng.choice(words, WORDS))] for _ in paths]
    return CaptionDataset(images=list(paths), captions=captions, name="synthetic photos"), vocabulary


def training_pipeline(data, vocabulary, batch_size, seed, feature_cache=None):
    # The arguments Captioner.make_dataset passes, so that these passes read exactly what fit reads.
    return caption_dataset_to_tf(data, vocabulary, IMAGE_SIZE, batch_size=batch_size, shuffle=True, seed=seed,
                                 max_length=WORDS, drop_remainder=True, group_by_image=True,
                                 feature_cache=feature_cache)


def iterate(dataset, passes=1, work=None):
    """(images, seconds) of ``passes`` passes over a pipeline's batches, handing each batch's images
    or features to ``work`` (the backbone) when given."""
    images, start = 0, time.perf_counter()
    for _ in range(passes):
        for inputs, _ in dataset:
            array = inputs["features"] if "features" in inputs else inputs["images"]
            if work is not None:
                work(array).numpy()  # .numpy(): wait for the result, not just the dispatch
            images += len(array)
    return images, time.perf_counter() - start


class StepTimer(keras.callbacks.Callback):
    """Seconds of each training step (fetching its batch included); stops ``fit`` after ``steps``."""

    def __init__(self, steps):
        super().__init__()
        self.steps, self.seconds, self._start = steps, [], None

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if len(self.seconds) >= self.steps:
            self.model.stop_training = True


def train_steps(backbone, data, vocabulary, args, jit_compile, feature_cache=None, steps=None):
    """Step timings of a paper-sized Captioner on ``data`` (from the cache when one is given)."""
    keras.utils.set_random_seed(args.seed)  # the same initial model for every variant
    model = Captioner(backbone, vocabulary, train_backbone=False, max_length=WORDS, seed=args.seed, **PAPER_DECODER)
    model.compile(optimizer="adam", jit_compile=jit_compile)
    timer = StepTimer(args.warmup_steps + steps)
    epochs = math.ceil(timer.steps / (len(data) // args.batch_size))  # the timer stops fit on time
    model.fit(data, batch_size=args.batch_size, epochs=epochs, feature_cache=feature_cache, verbose=0,
              callbacks=[timer])
    warmup, timed = timer.seconds[:args.warmup_steps], timer.seconds[args.warmup_steps:]
    detail = {"warmup_seconds": [round(s, 3) for s in warmup], "step_seconds": [round(s, 3) for s in timed]}
    return len(timed) * args.batch_size, sum(timed), detail


def row(key, label, images, seconds, **extra):
    out = {"key": key, "measured": label, "images": images, "seconds": round(seconds, 3),
           "images_per_s": round(images / seconds, 2), "ms_per_image": round(1000 * seconds / images, 2), **extra}
    print(out, flush=True)
    return out


def measure(args, paths):
    rows = {}
    data, vocabulary = synthetic_captions(paths, args.seed)
    uncached = data.subset(range(args.uncached_images))
    keras.utils.set_random_seed(args.seed)
    backbone = create_backbone(BACKBONE, input_shape=(*IMAGE_SIZE, 3), trainable=False)

    # 1. Decode + resize alone; the untimed pass starts tf.data's threads and warms the file cache.
    pipeline = training_pipeline(data, vocabulary, args.batch_size, args.seed)
    iterate(pipeline)
    rows["decode"] = row("decode", "decode + resize (tf.data, PIL), no model",
                         *iterate(pipeline, args.passes))

    # 2. Uncached: the cache's forward (tf.function, no XLA), traced on a dummy batch first.
    forward = tf.function(lambda images: backbone(tf.cast(images, "float32"), training=False))
    forward(tf.zeros((args.batch_size, *IMAGE_SIZE, 3), tf.uint8)).numpy()
    rows["decode_forward"] = row("decode_forward", f"decode + resize + {BACKBONE} forward, uncached",
                                 *iterate(training_pipeline(uncached, vocabulary, args.batch_size, args.seed),
                                          work=forward))
    # seconds=0: backbones.py's measure then times exactly 2 batches after its warm-up call.
    rate = images_per_second(backbone, IMAGE_SIZE[0], args.batch_size, seconds=0)
    rows["forward"] = row("forward", f"{BACKBONE} forward alone, in-memory images", 2 * args.batch_size,
                          2 * args.batch_size / rate)

    # 3. The cache, in a fresh folder: one holding these files already would extract nothing.
    with tempfile.TemporaryDirectory(prefix="feature_cache_") as directory:
        start = time.perf_counter()
        cache = FeatureCache.build(directory, backbone, paths, batch_size=args.batch_size,
                                   shard_size=args.batch_size * 16, verbose=0)  # shards: whole batches
        rows["extract"] = row("extract", "FeatureCache.build (decode + resize + forward + write)", len(paths),
                              time.perf_counter() - start)
        shards = glob.glob(os.path.join(directory, "shard_*.npy"))
        cache_bytes = {"feature_bytes_per_image": int(np.prod(cache.grid_shape)) * 2,  # float16
                       "shard_bytes_per_image": round(sum(map(os.path.getsize, shards)) / len(cache), 1),
                       "folder_bytes_per_image": round(sum(os.path.getsize(p) for p in glob.glob(
                           os.path.join(directory, "*"))) / len(cache), 1),
                       "grid": list(cache.grid_shape), "shards": len(shards)}
        pipeline = training_pipeline(data, vocabulary, args.batch_size, args.seed, feature_cache=cache)
        iterate(pipeline)  # memory-maps the shards
        rows["cache_read"] = row("cache_read", "read cached features (tf.data, cached branch), no model",
                                 *iterate(pipeline, args.passes))

        # 4. Training. Warm-up steps trace the step and compile it (XLA), so they are left out.
        for key, jit in (("train_cached_xla", True), ("train_cached_no_xla", False)):
            images, seconds, detail = train_steps(backbone, data, vocabulary, args, jit, cache, args.steps)
            rows[key] = row(key, f"training step from cached features, XLA {'on' if jit else 'off'}", images,
                            seconds, **detail)
    # The same step fed images (decoded by the pipeline, overlapping the step): what caching saves.
    for key, jit in (("train_images_xla", True), ("train_images_no_xla", False)):
        images, seconds, detail = train_steps(backbone, uncached, vocabulary, args, jit, steps=args.image_steps)
        rows[key] = row(key, f"training step from images (frozen {BACKBONE} in the step), XLA "
                        f"{'on' if jit else 'off'}", images, seconds, **detail)
    return rows, cache_bytes


def table(rows):
    lines = ["| measured | images | images/s | ms per image |", "|---|---:|---:|---:|"]
    lines += [f"| {r['measured']} | {r['images']} | {r['images_per_s']:.1f} | {r['ms_per_image']:.1f} |"
              for r in rows.values()]
    return "\n".join(lines)


def notes(rows, cache_bytes, jpeg_bytes):
    rate = {k: r["images_per_s"] for k, r in rows.items()}
    fastest = max(("train_cached_xla", "train_cached_no_xla"), key=rate.get)
    training = rate[fastest]
    feeder = "the input pipeline" if rate["cache_read"] < training else "the model"

    def pair(key):  # a rate with XLA on and off
        return f"{rate[key + '_xla']:.1f} vs {rate[key + '_no_xla']:.1f} images/s"

    return [
        f"Decoding + resizing alone runs {rate['decode'] / rate['forward']:.0f}× as fast as the {BACKBONE} forward "
        f"({rate['decode']:.0f} vs {rate['forward']:.1f} images/s): uncached, the backbone is the bottleneck "
        f"(decode + forward {rate['decode_forward']:.1f} images/s).",
        f"From the cache, reading runs {rate['cache_read'] / training:.0f}× the fastest training step's rate "
        f"({rate['cache_read']:.0f} vs {training:.1f} images/s, {rows[fastest]['measured']}): {feeder} is the "
        "bottleneck.",
        f"Caching: training from cached features runs {rate['train_cached_xla'] / rate['train_images_xla']:.1f}× "
        f"(XLA on) and {rate['train_cached_no_xla'] / rate['train_images_no_xla']:.1f}× (XLA off) as fast as from "
        f"images with the frozen backbone in the step; extraction ({rate['extract']:.1f} images/s) is paid once, "
        "about one epoch of backbone work.",
        f"XLA on vs off: from cached features {pair('train_cached')}, from images {pair('train_images')}.",
        f"Cache on disk: {cache_bytes['shard_bytes_per_image']:,.0f} bytes per image in shards "
        f"({cache_bytes['feature_bytes_per_image']:,} of features, {'×'.join(map(str, cache_bytes['grid']))} "
        f"float16; {cache_bytes['folder_bytes_per_image']:,.0f} with the listings), "
        f"{cache_bytes['feature_bytes_per_image'] * COCO_IMAGES / 1e9:.1f} GB for COCO's {COCO_IMAGES:,} images; "
        f"the JPEGs average {np.mean(jpeg_bytes) / 1e3:.0f} KB.",
        "The files were just written, so reads come from the OS page cache; a cold disk adds its read time. "
        "Timings are this machine's at this moment: a busy CPU lowers them all.",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, help="photos written and cached (default 256; quick 16)")
    parser.add_argument("--uncached-images", type=int, help="photos run through the backbone uncached "
                        "(default 64; quick 16)")
    parser.add_argument("--batch-size", type=int, help="captions (= images) per batch (default 32; quick 8)")
    parser.add_argument("--passes", type=int, help="timed passes over the pipelines (default 3; quick 1)")
    parser.add_argument("--warmup-steps", type=int, help="training steps left out (default 2; quick 1)")
    parser.add_argument("--steps", type=int, help="timed training steps from cached features (default 10; quick 2)")
    parser.add_argument("--image-steps", type=int, help="timed training steps from images (default 2; quick 1)")
    parser.add_argument("--folder", help="where to write the photos (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that it runs")
    parser.add_argument("--json", help="default benchmarks/data_pipeline.json; with --quick a temporary file")
    args = parser.parse_args(argv)
    for name, (default, quick) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if not args.batch_size <= args.uncached_images <= args.images:
        parser.error(f"Need --batch-size ({args.batch_size}) ≤ --uncached-images ({args.uncached_images}) ≤ "
                     f"--images ({args.images}): every stage times whole batches.")
    if args.json is None:
        args.json = (os.path.join(tempfile.gettempdir(), "data_pipeline_quick.json") if args.quick
                     else os.path.join(ROOT, "benchmarks", "data_pipeline.json"))

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="synthetic_photos_") as scratch:
        start = time.perf_counter()
        paths, jpeg_bytes = write_photos(args.folder or scratch, args.images, args.seed)
        print(f"Wrote {len(paths)} JPEGs ({np.mean(jpeg_bytes) / 1e3:.0f} KB on average) to "
              f"{os.path.dirname(paths[0])} in {time.perf_counter() - start:.0f} s", flush=True)
        rows, cache_bytes = measure(args, paths)
    result = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
                    "keras": keras.__version__, "devices": [d.device_type for d in tf.config.list_physical_devices()],
                    "load_average_before": [round(v, 2) for v in load_before],
                    "load_average_after": [round(v, 2) for v in os.getloadavg()]},
        "settings": {**vars(args), "backbone": BACKBONE, "weights": None, "image_size": list(IMAGE_SIZE),
                     "vocabulary": VOCABULARY_SIZE, "words": WORDS, "captions_per_image": 1, **PAPER_DECODER},
        "jpeg_bytes": {"mean": round(float(np.mean(jpeg_bytes))), "min": min(jpeg_bytes), "max": max(jpeg_bytes)},
        "cache": cache_bytes, "rows": list(rows.values()), "notes": notes(rows, cache_bytes, jpeg_bytes)}
    write_result(args.json, result)
    print(table(rows))
    print()
    print("\n".join(f"- {line}" for line in result["notes"]))
    print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
