"""The LSTM and the Transformer side by side: quality on the shapes data at two budgets and at equal
time, where each word's map sits, and speed at the paper configuration.

    python benchmarks/decoders.py [--parts demo,small,equal_time,paper] [--seeds 0,1,2] [--only NAMES] [--quick]

Decoders (``DECODERS``): the soft and hard LSTM and Transformers of 1, 2 and 3 blocks, each at its
demo model and demo recipe (``showattend.demo``). Parts:

- ``demo``: the demo budget (2,500 shapes images, each decoder's demo epochs), one ``run_demo`` per
  decoder and seed into ``--out`` (a finished run is read back, an interrupted one resumes): semantic
  F1, BLEU-4, CIDEr-D, attention correctness, parameters, training seconds, and where each
  colour or shape word's map sits relative to its object (``map_offsets``).
- ``small``: the ablation's budget (1,200 images, 5 epochs, 300 test images, beam 3), the same figures.
- ``equal_time``: the small budget's data, each decoder given the soft LSTM's training time at that
  budget (its epochs as many as fit, measured from its own ``small`` runs, and stopped at the time
  whatever happens), semantic F1.
- ``paper``: 14×14×512 cached regions, vocabulary 10,000, width 512, batches of 32 captions of 20
  words: training images/s and beam 1/3/5 images/s of the LSTM and of Transformers of 1, 2, 3 and 6
  blocks, each decoder's work per image (``transformer_flops``, ``benchmarks/paper_config.py``'s
  ``flops_per_image``) and each figure as a share of this run's large-matmul limit at that work;
  and the training step's seconds as captions grow from 10 to 20 to 40 words.

Prints the tables and writes ``benchmarks/decoders.json``: a part not run keeps the JSON's previous
figures, and ``--only`` (comma-separated names of ``DECODERS``) runs some decoders of a part and
keeps the others' runs. The docs render ``docs/benchmarks/decoders.md`` from it. Never asserts
timings.
"""
import argparse
import dataclasses
import os
import sys
import tempfile
import time

import keras
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend import Captioner, Vocabulary, load_captioner  # noqa: E402
from showattend.datasets import shapes  # noqa: E402
from showattend.demo import DEMO_MODELS, DEMO_RECIPES, run_demo  # noqa: E402
from showattend.evaluation import evaluate  # noqa: E402
from showattend.files import read_json  # noqa: E402
from showattend.grounding import grounded_words, grounding_scores  # noqa: E402
from showattend.training import RunFolder, fit_best  # noqa: E402
from record import write_result  # noqa: E402

# name → (decoder, options over its demo model)
DECODERS = {"soft LSTM": ("lstm", {}), "hard LSTM": ("lstm", {"attention": "hard"}),
            "Transformer ×1": ("transformer", {"layers": 1}), "Transformer ×2": ("transformer", {"layers": 2}),
            "Transformer ×3": ("transformer", {"layers": 3})}
QUALITY = ("semantic_f1", "BLEU-4", "CIDEr-D", "attention_correctness", "uniform_baseline")
JSON = os.path.join(ROOT, "benchmarks", "decoders.json")


def slug(name):
    return name.lower().replace(" ", "_").replace("×", "x")


def spread(values):
    """min, mean and max of a list of numbers."""
    return {"min": float(np.min(values)), "mean": float(np.mean(values)), "max": float(np.max(values))}


def merged(previous, rows):
    """``rows`` and the runs of ``previous`` (a part of the JSON, or None) of other (decoder, seed)s,
    in ``DECODERS``' order."""
    done = {(r["decoder"], r["seed"]) for r in rows}
    kept = [r for r in (previous or {}).get("runs", []) if (r["decoder"], r["seed"]) not in done]
    order = list(DECODERS)
    return sorted(kept + rows, key=lambda r: (order.index(r["decoder"]), r["seed"]))


def summarise(rows, keys):
    """Per decoder: min/mean/max over its seeds of each of ``keys``."""
    out = {}
    for name in dict.fromkeys(r["decoder"] for r in rows):
        runs = [r for r in rows if r["decoder"] == name]
        out[name] = {k: spread([r[k] for r in runs]) for k in keys if all(k in r for r in runs)}
        out[name]["seeds"] = [r["seed"] for r in runs]
    return out


# --- where each word's map sits --------------------------------------------------------------------------


def map_offsets(dataset, captions, classes=("colour", "shape")):
    """Where each word's map sits relative to its object: the map's centre of mass minus the object's.

    The centre of mass is computed on the grid, each cell at its centre in pixels ((i + ½) · cell),
    so that no upsampling or rendering enters; the object's centre is its mask's.

    Returns:
        ``{"words": n, "dx": median px, "dy": median px, "dx_q": [25 %, 75 %], "dy_q": [...],
        "cell": (cell_h, cell_w) px}`` over the words of ``classes`` grounded to an object.
    """
    dx, dy = [], []
    class_of = {word: name for name, words in (dataset.word_classes or {}).items() for word in words}
    cell = None
    for caption, word, target in grounded_words(dataset, captions):
        if class_of.get(caption.tokens[word]) not in classes:
            continue
        grid = caption.attention[word]
        height, width = target.mask.shape
        cell = (height / grid.shape[0], width / grid.shape[1])
        rows, cols = (np.arange(n) + 0.5 for n in grid.shape)
        y = float((grid.sum(axis=1) * rows).sum() / grid.sum()) * cell[0]
        x = float((grid.sum(axis=0) * cols).sum() / grid.sum()) * cell[1]
        ys, xs = np.nonzero(target.mask)
        dy.append(y - (ys.mean() + 0.5))
        dx.append(x - (xs.mean() + 0.5))
    if not dx:
        return {"words": 0}
    return {"words": len(dx), "dx": float(np.median(dx)), "dy": float(np.median(dy)),
            "dx_q": np.percentile(dx, [25, 75]).tolist(), "dy_q": np.percentile(dy, [25, 75]).tolist(),
            "cell": list(cell)}


# --- quality: the demo budget, the small budget, equal time --------------------------------------------


def demo_part(args, seeds, previous):
    rows = []
    for name, (decoder, options) in args.decoders.items():
        for seed in seeds:
            out = os.path.join(args.out, "demo", slug(name), f"seed{seed}")
            finished = os.path.join(out, "metrics.json")  # read back: run_demo would evaluate it again
            same = os.path.exists(finished) and read_json(finished).get("model") == {**DEMO_MODELS[decoder], **options}
            metrics = read_json(finished) if same else run_demo(
                out, num_images=args.demo_images, seed=seed, decoder=decoder, verbose=0, log=lambda *a: None,
                epochs=args.demo_epochs, **options)
            model = load_captioner(os.path.join(out, "model.keras"))
            test = shapes("test", num_images=max(64, args.demo_images // 6), seed=seed)
            captions = model.caption(test.images, beam_size=3, return_attention=True)
            row = {"decoder": name, "seed": seed, "parameters": model.count_params(),
                   "train_seconds": metrics["train_seconds"], "best_epoch": metrics["best_epoch"],
                   **{k: metrics[k] for k in QUALITY}, "offsets": map_offsets(test, captions)}
            if decoder == "transformer":  # the same model's maps averaged over every block, not the last one's
                mean = with_attention_map(model, "mean").caption(test.images, beam_size=3, return_attention=True)
                row["mean_map"] = {"offsets": map_offsets(test, mean),
                                   "attention_correctness": grounding_scores(test, mean)["attention_correctness"]}
            print(row, flush=True)
            rows.append(row)
    rows = merged(previous, rows)
    return {"settings": {"images": args.demo_images},
            "summary": summarise(rows, (*QUALITY, "train_seconds", "parameters")), "runs": rows}


def with_attention_map(model, attention_map):
    """The same Transformer captioner with its maps read another way ("last" or "mean"): same weights."""
    config = model.get_config()
    config["decoder"]["config"]["attention_map"] = attention_map
    other = Captioner.from_config(config)
    other.set_weights(model.get_weights())
    return other


def small_data(args, seed):
    train = shapes("train", num_images=args.small_images, seed=seed)
    val = shapes("val", num_images=max(64, args.small_images // 10), seed=seed)
    test = shapes("test", num_images=args.test_images, seed=seed)
    return train, val, test, Vocabulary.build(train.all_captions(), min_count=1)


class StopAt(keras.callbacks.Callback):
    """Stops training once ``seconds`` have passed since training began (after the batch running then)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.started = seconds, None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def train_and_score(name, data, epochs, seed, batch_size, seconds=None):
    """Train decoder ``name`` at its demo model and recipe with ``fit_best``; score it on the test split."""
    decoder, options = DECODERS[name]
    train, val, test, vocabulary = data
    keras.utils.set_random_seed(seed)
    model = Captioner(vocabulary=vocabulary, seed=seed, **{**DEMO_MODELS[decoder], **options})
    recipe = dataclasses.replace(DEMO_RECIPES[decoder], val_images=len(val))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        model = fit_best(model, train, val, out, epochs, batch_size, recipe, verbose=0,
                         callbacks=[StopAt(seconds)] if seconds else ())
        trained = len(RunFolder(out).read_history())  # a stopped run's last epoch counts, cut short
    train_seconds = time.perf_counter() - start
    metrics = evaluate(model, test, beam_size=3)
    row = {"decoder": name, "seed": seed, "epochs": epochs, "epochs_trained": trained,
           "parameters": model.count_params(),
           "train_seconds": round(train_seconds, 1), **{k: metrics.get(k, float("nan")) for k in QUALITY}}
    print(row, flush=True)
    return row


def small_part(args, seeds, previous):
    rows = merged(previous, [train_and_score(name, small_data(args, seed), args.small_epochs, seed, args.batch_size)
                             for seed in seeds for name in args.decoders])
    return {"settings": {"images": args.small_images, "epochs": args.small_epochs, "test_images": args.test_images},
            "summary": summarise(rows, (*QUALITY, "train_seconds")), "runs": rows}


def equal_time_part(args, seeds, small, previous):
    """Each decoder gets the soft LSTM's small-budget training time (mean over its seeds)."""
    if small is None:
        raise SystemExit("--parts equal_time needs the small part's figures (run --parts small first).")
    budget = small["summary"]["soft LSTM"]["train_seconds"]["mean"]
    rows = []
    for name in [n for n in ("soft LSTM", "Transformer ×1", "Transformer ×2") if n in args.decoders]:
        per_epoch = small["summary"][name]["train_seconds"]["mean"] / small["settings"]["epochs"]
        epochs = max(1, int(budget // per_epoch))
        rows += [train_and_score(name, small_data(args, seed), epochs, seed, args.batch_size, seconds=budget)
                 for seed in seeds]
    rows = merged(previous, rows)
    return {"settings": {"seconds": budget}, "summary": summarise(rows, (*QUALITY, "train_seconds", "epochs")),
            "runs": rows}


# --- speed at the paper configuration ------------------------------------------------------------------------


def transformer_flops(layers, beam=None, regions=196, dim=512, width=512, ff_width=2048, vocabulary=10_000, words=20):
    """Multiply-adds × 2 of a Transformer decoder for one image, as ``flops_per_image`` counts the LSTM's.

    Per image: the regions' projection to the width and each block's cross-attention keys and values.
    Per word and block: the self-attention's four projections and its products with the ``t`` keys
    before it (≈ words / 2 on average in training; the cache's ``words`` slots in generation, which
    reads every slot), the cross-attention's query and output projections and its two products with
    the regions, and the feed-forward. Per word: the product over the vocabulary. Training is 3 ×
    the forward pass.
    """
    per_image = 2 * regions * dim * width + layers * 2 * 2 * regions * width * width
    keys = words / 2 if beam is None else words
    per_word = layers * (2 * 4 * width * width + 2 * 2 * keys * width  # self-attention
                         + 2 * 2 * width * width + 2 * 2 * regions * width  # cross-attention
                         + 2 * 2 * width * ff_width) + 2 * width * vocabulary  # feed-forward, logits
    if beam is None:
        return 3 * (per_image + words * per_word)
    return per_image + beam * words * per_word


def paper_part(args):
    import tensorflow as tf
    from benchmarks.data_pipeline import StepTimer, synthetic_vocabulary
    from benchmarks.paper_config import BATCH, CHANNELS, GRID, flops_per_image, matmul_gflops
    from showattend.decoders import paper_config

    vocabulary = synthetic_vocabulary(args.vocabulary)
    limit = matmul_gflops(args.matmul_seconds) * 1e9
    features = np.random.default_rng(1).normal(size=(BATCH, *GRID, CHANNELS)).astype(np.float32).clip(0, None)

    def model_of(decoder, words):
        keras.utils.set_random_seed(0)
        options = paper_config("lstm") if decoder == "lstm" else {**paper_config("transformer"), "layers": decoder}
        model = Captioner("vgg16", vocabulary, decoder="lstm" if decoder == "lstm" else "transformer",
                          image_size=(224, 224), train_backbone=False, max_length=max(words, 40), seed=0, **options)
        model.compile(optimizer="adam")
        return model

    def batches(words, count):
        rng = np.random.default_rng(0)
        tokens = rng.integers(4, len(vocabulary), size=(BATCH, 1, words + 1)).astype(np.int32)
        tokens[:, :, 0] = vocabulary.start_id
        x = {"features": features.astype(np.float16), "tokens": tokens[..., :-1]}
        return tf.data.Dataset.from_tensors((x, tokens[..., 1:])).repeat(count)

    def train_seconds(model, words):
        timer = StepTimer(args.warmup_steps + args.steps)
        model.fit(batches(words, timer.steps), epochs=1, verbose=0, callbacks=[timer])
        return float(np.median(timer.seconds[args.warmup_steps:]))

    def caption_rate(model, beam):
        model.caption_features(features, beam_size=beam, max_length=20)
        start = time.perf_counter()
        for _ in range(args.caption_batches):
            model.caption_features(features, beam_size=beam, max_length=20)
        return BATCH * args.caption_batches / (time.perf_counter() - start)

    rows = []
    for decoder in ["lstm", *args.layers]:
        name = "LSTM" if decoder == "lstm" else f"Transformer ×{decoder}"

        def work(beam=None, words=20):
            return (flops_per_image(beam, vocabulary=args.vocabulary, words=words) if decoder == "lstm"
                    else transformer_flops(decoder, beam, vocabulary=args.vocabulary, words=words))

        step = {}
        for words in (10, 40, 20):  # a model per length: a retraced step would lose its static length
            model = model_of(decoder, words)
            step[words] = train_seconds(model, words)
        step = {words: step[words] for words in (10, 20, 40)}
        row = {"decoder": name, "parameters": model.decoder.count_params(),
               "training_images_per_s": BATCH / step[20], "step_seconds": {str(w): s for w, s in step.items()},
               "work_training": work(), "limit_share_training": BATCH / step[20] * work() / limit}
        for beam in (1, 3, 5):
            rate = caption_rate(model, beam)
            row[f"beam{beam}_images_per_s"] = rate
            row[f"work_beam{beam}"] = work(beam)
            row[f"limit_share_beam{beam}"] = rate * work(beam) / limit
        print(row, flush=True)
        rows.append(row)
    return {"settings": {"grid": GRID, "channels": CHANNELS, "vocabulary": args.vocabulary, "batch": BATCH,
                         "words": 20, "width": 512}, "matmul_gflops": limit / 1e9, "runs": rows}


# --- tables: the docs' renderers (docsite.benchmark_renderers), so the tables are written once -------------


def print_tables(result, parts):
    from docsite.benchmark_tables import TABLES

    for part in parts:
        for view in ({"demo": ["demo", "offsets"], "paper": ["paper", "lengths"]}.get(part, [part])):
            print(TABLES[f"decoders.{view}"](result), "\n", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="demo,small,equal_time,paper")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="comma-separated names of DECODERS (default: all)")
    parser.add_argument("--out", default="runs/decoders", help="the demo runs' folders")
    parser.add_argument("--json", default=JSON)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that it runs (JSON to a temp dir)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.demo_images, args.demo_epochs = (128, 1) if quick else (2500, None)
    args.small_images, args.small_epochs, args.test_images = (128, 1, 64) if quick else (1200, 5, 300)
    args.batch_size = 64
    args.vocabulary, args.layers = (1000, [1]) if quick else (10_000, [1, 2, 3, 6])
    args.steps, args.warmup_steps, args.caption_batches, args.matmul_seconds = (2, 1, 1, 0.5) if quick else (8, 3, 3, 5)
    if quick:
        args.json = os.path.join(tempfile.mkdtemp(), "decoders.json")
        args.out = tempfile.mkdtemp()
    seeds = [int(s) for s in args.seeds.split(",")]
    args.decoders = {name: DECODERS[name] for name in (args.only.split(",") if args.only else DECODERS)}
    result = read_json(args.json) if os.path.exists(args.json) else {}
    result.pop("machine", None)  # this run's machine is recorded anew
    parts = args.parts.split(",")
    if "demo" in parts:
        result["demo"] = demo_part(args, seeds, result.get("demo"))
    if "small" in parts:
        result["small"] = small_part(args, seeds, result.get("small"))
    if "equal_time" in parts:
        result["equal_time"] = equal_time_part(args, seeds, result.get("small"), result.get("equal_time"))
    if "paper" in parts:
        result["paper"] = paper_part(args)
    write_result(args.json, result)
    print_tables(result, parts)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
