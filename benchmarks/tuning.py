"""What a captioner search costs and buys: Hyperband on shapes over the small backbones, per seed.

    python benchmarks/tuning.py [--seeds 0,1,2] [--images 1000] [--max-epochs 4] [--factor 2]
                                [--out runs/tuning] [--json PATH] [--quick]
    python benchmarks/tuning.py --replot

For each seed, one Hyperband search (``showattend.tuning``) over small_vgg, resnet20, small_densenet
and highway11 at 64×64 on ``--images`` shapes images (a decoder of 128 units, learning rate, dropout,
cell, attention score and per-backbone options tuned; objective val BLEU-4 on 100 validation images),
then the default configuration (the search's first trial: small_vgg, dropout 0.5, Adam 4e-4, …)
trained alone for ``--max-epochs`` epochs, the most any trial gets, and scored the same way. It
prints trials per hour and the search's best val BLEU-4 beside the default's, per seed and as
min / mean / max over the seeds.

Then the feature cache: two one-trial searches of a frozen pretrained VGG-16 (``--cache-images`` at
``--cache-size``; random weights saved to a file stand in for ImageNet's, which cost the same to
run), one fed in-memory images (the backbone runs inside every training and validation step), one
fed image files (the backbone runs once per image into the search's feature cache). It prints the
seconds per epoch of each (the second epoch: the first pays for tracing), the time to build the
cache, and the speed-up.

Every search lives in ``--out`` and resumes when rerun (a finished one is read back). Writes
``benchmarks/tuning.json``; ``--quick`` runs tiny sizes to check that everything works (JSON to a
temporary path unless ``--json`` is given), then draws ``docs/benchmarks/tuning.png`` (``--plot``;
beside the JSON with ``--quick``) from it: per seed, the search's best val BLEU-4 beside the
default's. ``--replot`` only draws it again from the existing JSON, training nothing. Never asserts
timings. A default run takes about 25 minutes on a quiet 2-core CPU.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
from matplotlib.figure import Figure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend import CaptionDataset, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402
from showattend.files import atomic_write, read_json, write_json  # noqa: E402
from showattend.tuning import CaptionHyperModel, make_tuner  # noqa: E402
from showattend.tuning.report import best_epoch, results_table, trial_history  # noqa: E402
from record import write_result  # noqa: E402

BACKBONES = ["small_vgg", "resnet20", "small_densenet", "highway11"]
DECODER = dict(units=128, embed_dim=64, attention_dim=64, attention="soft")
# Option → (default, --quick)
SIZES = {"images": (1000, 60), "val_images": (100, 12), "max_epochs": (4, 2), "cache_images": (300, 16),
         "cache_size": (128, 64)}


def spread(values):
    return {"min": float(np.min(values)), "mean": float(np.mean(values)), "max": float(np.max(values))}


def search_seed(seed, data, args):
    """One Hyperband search and the default configuration at the full budget, for ``seed``."""
    train, val, vocabulary = data
    folder = os.path.join(args.out, f"seed_{seed}")
    hypermodel = CaptionHyperModel(vocabulary, backbones=BACKBONES, image_size=(64, 64), val_images=len(val),
                                   batch_size=64, seed=seed, **DECODER)
    timing_file = os.path.join(folder, "search_wall_seconds.json")
    fresh = not os.path.isfile(os.path.join(folder, "search", "oracle.json"))
    started = time.time()
    tuner = make_tuner(hypermodel, "hyperband", max_epochs=args.max_epochs, factor=args.factor,
                       directory=folder, project_name="search", seed=seed, verbose=0)
    tuner.search(train, validation_data=val, verbose=0)
    if not os.path.isfile(timing_file):  # the wall time of an uninterrupted search; a resumed one has none
        write_json(timing_file, {"wall_seconds": time.time() - started if fresh else None})
    wall = read_json(timing_file)["wall_seconds"]
    rows = results_table(tuner, os.path.join(folder, "results.csv"))
    default = make_tuner(hypermodel, "random", max_trials=1, max_epochs=args.max_epochs, directory=folder,
                         project_name="default", seed=seed, verbose=0)
    default.search(train, validation_data=val, verbose=0)
    default_trial = next(iter(default.oracle.trials.values()))
    # seconds of training, summed from the per-epoch histories: a resumed search's wall time is not
    # one run's, so the rate is counted from what the trials themselves spent
    histories = [trial_history(tuner, t) for t in tuner.oracle.trials]
    promoted = {t.trial_id: t.hyperparameters.values.get("tuner/initial_epoch", 0)
                for t in tuner.oracle.trials.values()}
    seconds = sum(r["seconds"] for t, h in zip(tuner.oracle.trials, histories) for r in h
                  if r["epoch"] > promoted[t])
    completed = [r for r in rows if r["status"] == "COMPLETED"]
    first = sorted(tuner.oracle.trials)[0]  # the default configuration, at the fewest epochs
    best = completed[0]
    result = {"trials": len(rows), "completed": len(completed), "epochs": sum(r["epochs"] - promoted[str(r["trial"])]
                                                                            for r in rows),
              "train_seconds": seconds, "wall_seconds": wall,
              "trials_per_hour": None if wall is None else 3600 * len(rows) / wall,
              "trials_per_hour_of_training": 3600 * len(rows) / seconds,
              "best_val_bleu4": best["score"],
              "best": {k: best[k] for k in ("trial", "backbone", "best_epoch", "learning_rate", "dropout", "cell",
                                            "attention_score") if k in best},
              "default_val_bleu4": float(default_trial.score), "default_best_epoch": best_epoch(default_trial),
              "search_default_trial_val_bleu4": next(r["score"] for r in rows if r["trial"] == first)}
    rate = "wall time not recorded (resumed)" if wall is None else f"{result['trials_per_hour']:.0f} trials/h"
    print(f"seed {seed}: {result['trials']} trials ({result['completed']} completed), {result['epochs']} epochs, "
          f"{seconds / 60:.1f} min of training epochs in {'?' if wall is None else f'{wall / 60:.1f}'} min → {rate}; "
          f"best val BLEU-4 "
          f"{result['best_val_bleu4']:.3f} ({best['backbone']}), default at {args.max_epochs} epochs "
          f"{result['default_val_bleu4']:.3f}", flush=True)
    return result


def as_files(dataset, folder):
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, f"{i:05d}.png") for i in range(len(dataset))]
    for path, image in zip(paths, dataset.images):
        if not os.path.isfile(path):
            Image.fromarray(image).save(path)
    return CaptionDataset(paths, dataset.captions)


def cache_speedup(args):
    """Seconds per epoch of a frozen pretrained VGG-16 trial fed images, and fed files through the cache."""
    import keras

    size = (args.cache_size, args.cache_size)
    train = shapes("train", num_images=args.cache_images, seed=0, image_size=args.cache_size)
    val = shapes("val", num_images=max(8, args.cache_images // 10), seed=1, image_size=args.cache_size)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    folder = os.path.join(args.out, "cache")
    weights = os.path.join(folder, "vgg16_notop.weights.h5")
    if not os.path.isfile(weights):
        os.makedirs(folder, exist_ok=True)
        keras.applications.VGG16(include_top=False, weights=None, input_shape=(*size, 3)).save_weights(weights)
    measured = {}
    for name, data in (("images", (train, val)),
                       ("cache", (as_files(train, os.path.join(folder, "train")),
                                  as_files(val, os.path.join(folder, "val"))))):
        hypermodel = CaptionHyperModel(vocabulary, backbones=["vgg16"], image_size=size, pretrained=True,
                                       fine_tune=False, weights=weights, val_images=len(val), batch_size=32,
                                       dropout=0.5, learning_rate=4e-4, cell="lstm", attention_score="additive",
                                       doubly_stochastic=1.0, **DECODER)
        tuner = make_tuner(hypermodel, "random", max_trials=1, max_epochs=2, directory=folder, project_name=name,
                           verbose=0)
        started = time.time()
        tuner.search(data[0], validation_data=data[1], verbose=0)
        history = trial_history(tuner, next(iter(tuner.oracle.trials)))
        measured[name] = {"epoch_seconds": [r["seconds"] for r in history], "search_seconds": time.time() - started}
    build = measured["cache"]["search_seconds"] - sum(measured["cache"]["epoch_seconds"])
    result = {"images": args.cache_images, "val_images": len(val), "image_size": list(size),
              "grid": [args.cache_size // 16] * 2,
              "epoch_seconds_images": measured["images"]["epoch_seconds"][-1],
              "epoch_seconds_cache": measured["cache"]["epoch_seconds"][-1],
              "cache_build_and_setup_seconds": build}
    result["speedup"] = result["epoch_seconds_images"] / result["epoch_seconds_cache"]
    print(f"frozen VGG-16 at {size[0]}×{size[1]}, {args.cache_images} images: {result['epoch_seconds_images']:.1f} s "
          f"per epoch fed images, {result['epoch_seconds_cache']:.1f} s from the feature cache "
          f"({result['speedup']:.1f}×); building the cache and the trial's setup took {build:.0f} s once", flush=True)
    return result


def plot(result, path):
    """Draw ``result`` (what this script writes to ``benchmarks/tuning.json``) into the PNG ``path``.

    Per seed, two bars: the default configuration trained alone at the full budget, and the
    search's best trial, each with its val BLEU-4 written above it and the best trial's backbone
    inside its bar.
    """
    runs = {str(seed): run for seed, run in result["runs"].items()}
    seeds = [str(seed) for seed in result["seeds"]]
    settings = result.get("settings", {})
    epochs = settings.get("max_epochs")
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    bars = (("default_val_bleu4", "default configuration" + (f", {epochs} epochs" if epochs else ""), "tab:grey"),
            ("best_val_bleu4", "the search's best trial (its backbone in the bar)", "tab:green"))
    width = 0.36
    top = 0.0
    for k, (key, label, color) in enumerate(bars):
        xs = [i + (k - 0.5) * width for i in range(len(seeds))]
        values = [runs[seed][key] for seed in seeds]
        top = max(top, *values)
        ax.bar(xs, values, width * 0.92, color=color, label=label)
        for x, value, seed in zip(xs, values, seeds):
            ax.text(x, value + 0.01, f"{value:.3f}", ha="center", va="bottom", fontsize=11)
            backbone = runs[seed].get("best", {}).get("backbone") if key == "best_val_bleu4" else None
            if backbone and value > 0.15:
                ax.text(x, value / 2, backbone, ha="center", va="center", rotation=90, color="white", fontsize=10.5)
    ax.set_xticks(range(len(seeds)), [f"seed {seed}" for seed in seeds], fontsize=11)
    ax.set_ylim(0, max(0.1, np.ceil((top + 0.08) * 10) / 10))
    ax.set_ylabel(f"val BLEU-4 ({settings['val_images']} images)" if "val_images" in settings else "val BLEU-4",
                  fontsize=11)
    ax.tick_params(axis="y", labelsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", fontsize=11, frameon=False, ncols=2)
    images = f" on {settings['images']:,} shapes images" if "images" in settings else ""
    fig.suptitle(f"What the search buys: its best trial against the default configuration{images}", fontsize=13)
    atomic_write(path, lambda partial: fig.savefig(partial, dpi=100, format="png"))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "tuning"))
    parser.add_argument("--json", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--plot", default=None, help="the PNG drawn from the JSON (default docs/benchmarks/tuning.png, "
                                                    "with --quick tuning.png beside the JSON)")
    parser.add_argument("--replot", action="store_true",
                        help="only draw --plot again from the JSON at --json (trains nothing)")
    for option in SIZES:
        parser.add_argument(f"--{option.replace('_', '-')}", type=int, default=None)
    args = parser.parse_args(argv)
    if args.replot:
        json_path = args.json or os.path.join(ROOT, "benchmarks", "tuning.json")
        png = args.plot or os.path.join(ROOT, "docs", "benchmarks", "tuning.png")
        print(f"wrote {plot(read_json(json_path), png)}")
        return
    for option, (default, quick) in SIZES.items():
        if getattr(args, option) is None:
            setattr(args, option, quick if args.quick else default)
    if args.quick and args.out == parser.get_default("out"):
        args.out = tempfile.mkdtemp(prefix="tuning_")
    args.json = args.json or (os.path.join(args.out, "tuning.json") if args.quick
                              else os.path.join(ROOT, "benchmarks", "tuning.json"))
    seeds = [int(s) for s in args.seeds.split(",")]
    train = shapes("train", num_images=args.images, seed=0)
    val = shapes("val", num_images=args.val_images, seed=1)
    data = (train, val, Vocabulary.build(train.all_captions(), min_count=1))
    runs = {seed: search_seed(seed, data, args) for seed in seeds}
    cache = cache_speedup(args)
    summary = {k: spread([r[k] for r in runs.values() if r[k] is not None])
               for k in ("trials_per_hour", "trials_per_hour_of_training", "best_val_bleu4", "default_val_bleu4",
                         "trials", "epochs") if any(r[k] is not None for r in runs.values())}
    summary["best_minus_default"] = spread([r["best_val_bleu4"] - r["default_val_bleu4"] for r in runs.values()])
    write_result(args.json, {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                           "settings": {k: getattr(args, k) for k in ("images", "val_images", "max_epochs", "factor")},
                           "backbones": BACKBONES, "decoder": DECODER, "seeds": seeds, "runs": runs,
                           "summary": summary, "feature_cache": cache})
    print(f"\n| over seeds {args.seeds} | min | mean | max |\n|---|---:|---:|---:|")
    for name, s in summary.items():
        print(f"| {name} | {s['min']:.3f} | {s['mean']:.3f} | {s['max']:.3f} |")
    print(json.dumps(cache))
    print(f"wrote {args.json}")
    png = args.plot or (os.path.join(os.path.dirname(args.json), "tuning.png") if args.quick
                        else os.path.join(ROOT, "docs", "benchmarks", "tuning.png"))
    print(f"wrote {plot(read_json(args.json), png)}")


if __name__ == "__main__":
    main()
