"""Ablation of the decoder on the shapes data: soft vs hard attention, each cell, each attention
score, and each of β, the deep output layer, the doubly stochastic term and the initial state
switched from the demo model's setting. Same data, budget and seeds for every variant.

    python benchmarks/ablation.py [--train 1200] [--epochs 5] [--seeds 0,1,2] [--only soft,hard]
    python benchmarks/ablation.py --replot

Every variant trains with the demo's recipe (``showattend.training.fit_best``: warm-up and cosine
decay, clipped gradients, the epoch with the best validation BLEU-4 kept) once per seed. Writes
``benchmarks/ablation.json`` and prints a Markdown table: semantic F1 (mean, min–max over the
seeds), BLEU-4, CIDEr-D, attention correctness (uniform baseline alongside) and training seconds,
as means. Then it draws ``docs/benchmarks/ablation.png`` (``--plot``) from the JSON: semantic F1 and
attention correctness per variant, mean and min–max over the seeds, one panel per group of variants;
``--replot`` only draws it again from the existing JSON, training nothing.
"""
import argparse
import dataclasses
import os
import sys
import tempfile
import time

import keras
import numpy as np
from matplotlib.figure import Figure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend import Captioner, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402
from showattend.demo import DEMO_MODEL, DEMO_RECIPE  # noqa: E402
from showattend.evaluation import evaluate  # noqa: E402
from showattend.files import atomic_write, read_json  # noqa: E402
from showattend.training import fit_best  # noqa: E402
from record import write_result  # noqa: E402

# name -> options changed from the demo model (soft attention, LSTM, additive score, β on, deep
# output on, doubly stochastic λ = 0, initial state from the mean feature)
VARIANTS = {
    "soft (demo model)": {},
    "hard attention": {"attention": "hard"},
    "peephole LSTM": {"cell": "peephole_lstm"},
    "CIFG LSTM": {"cell": "cifg_lstm"},
    "GRU": {"cell": "gru"},
    "dot score": {"attention_score": "dot"},
    "general score": {"attention_score": "general"},
    "no gate β": {"gate": False},
    "no deep output": {"deep_output": False},
    "doubly stochastic λ=1": {"doubly_stochastic": 1.0},
    "zero initial state": {"init_state": "zeros"},
}

# The plot's groups: option a variant changes → the group it is drawn in. The demo model, which
# changes none, is drawn in every group as the reference.
PLOT_GROUPS = {"attention": "soft or hard attention", "cell": "the recurrent cell",
               "attention_score": "the attention score", "gate": "the decoder's switches",
               "deep_output": "the decoder's switches", "doubly_stochastic": "the decoder's switches",
               "init_state": "the decoder's switches"}
REFERENCE = "soft (demo model)"


def run(name, options, data, epochs, batch_size, learning_rate, seed):
    train, val, test, vocabulary = data
    keras.utils.set_random_seed(seed)
    model = Captioner(vocabulary=vocabulary, seed=seed, **{**DEMO_MODEL, **options})
    recipe = dataclasses.replace(DEMO_RECIPE, learning_rate=learning_rate, val_images=len(val))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        model = fit_best(model, train, val, out, epochs, batch_size, recipe, verbose=0)
    train_seconds = time.perf_counter() - start
    metrics = evaluate(model, test, beam_size=3)
    row = {"variant": name, "options": options, "seed": seed, "parameters": model.count_params(),
           "train_seconds": round(train_seconds, 1), **{k: metrics.get(k, float("nan")) for k in (
               "semantic_f1", "BLEU-4", "CIDEr-D", "attention_correctness", "uniform_baseline")}}
    print(row, flush=True)
    return row


def summarise(rows):
    """One row per variant: the mean of each figure over its seeds, and semantic F1's min and max."""
    out = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == name]
        mean = {k: float(np.mean([r[k] for r in runs])) for k in (
            "semantic_f1", "BLEU-4", "CIDEr-D", "attention_correctness", "uniform_baseline", "train_seconds")}
        f1 = [r["semantic_f1"] for r in runs]
        out.append({"variant": name, "seeds": [r["seed"] for r in runs], **mean, "semantic_f1_min": min(f1),
                    "semantic_f1_max": max(f1)})
    return out


def table(rows):
    lines = ["| variant | semantic F1 (min–max) | BLEU-4 | CIDEr-D | attention correctness | training (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['semantic_f1']:.3f} ({r['semantic_f1_min']:.3f}–{r['semantic_f1_max']:.3f}) "
                     f"| {r['BLEU-4']:.3f} | {r['CIDEr-D']:.2f} | {r['attention_correctness']:.3f} | "
                     f"{r['train_seconds']:.0f} |")
    return "\n".join(lines)


def plot(result, path):
    """Draw ``result`` (what this script writes to ``benchmarks/ablation.json``) into the PNG ``path``.

    One panel per group of variants (``PLOT_GROUPS``), each with the demo model on top: semantic F1
    and attention correctness per variant, a dot at the mean over the seeds and a bar from the
    lowest to the highest seed; the demo model's range shaded across the panel, and the uniform
    attention map's correctness (mean over every run) as a dotted line.
    """
    runs = result["runs"]
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    groups = {}
    for variant in variants:
        if variant == REFERENCE:
            continue
        options = next(r.get("options", {}) for r in runs if r["variant"] == variant)
        group = PLOT_GROUPS.get(next(iter(options), None), "other variants")
        groups.setdefault(group, []).append(variant)
    reference = [REFERENCE] if REFERENCE in variants else []
    if not groups:
        groups = {"variants": []}
    seeds = sorted({r["seed"] for r in runs})
    uniform = float(np.mean([r["uniform_baseline"] for r in runs]))
    metrics = [("semantic_f1", "semantic F1"), ("attention_correctness", "attention correctness")]
    limits = {key: max(1.0 if key == "semantic_f1" else 0.0, np.ceil(max(r[key] for r in runs) * 10 + 0.5) / 10)
              for key, _ in metrics}

    def spread(variant, key):
        values = [r[key] for r in runs if r["variant"] == variant]
        return float(np.mean(values)), min(values), max(values)

    rows = [len(reference) + len(members) for members in groups.values()]
    fig = Figure(figsize=(9, 1.2 + sum(0.42 * n + 1.0 for n in rows)), layout="constrained")
    fig.suptitle(f"Ablation on shapes: dot = mean over seeds {', '.join(map(str, seeds))}, "
                 "bar = lowest to highest seed", fontsize=13)
    grid = fig.subplots(len(groups), 2, sharey="row", squeeze=False,
                        gridspec_kw={"height_ratios": [n + 0.5 for n in rows]})
    for g, (axes, (group, members)) in enumerate(zip(grid, groups.items())):
        names = reference + members
        axes[0].set_title(group, loc="left", fontsize=12, fontweight="bold")
        for ax, (key, title) in zip(axes, metrics):
            for i, name in enumerate(names):
                mean, low, high = spread(name, key)
                color = "tab:grey" if name == REFERENCE else "tab:blue"
                ax.errorbar(mean, i, xerr=[[mean - low], [high - mean]], fmt="o", color=color, capsize=4,
                            markersize=7, elinewidth=2)
            if reference:
                _, low, high = spread(REFERENCE, key)
                ax.axvspan(low, high, color="tab:grey", alpha=0.15, lw=0,
                           label="the demo model's range" if g == 0 and key == "semantic_f1" else None)
            if key == "attention_correctness":
                ax.axvline(uniform, color="black", linestyle=":", lw=1.5,
                           label="uniform attention (mean of all runs)" if g == 0 else None)
            ax.set_xlim(0, limits[key])
            ax.set_ylim(len(names) - 0.5, -0.5)
            ax.set_yticks(range(len(names)), names, fontsize=11)
            ax.tick_params(axis="x", labelsize=10)
            ax.grid(axis="x", alpha=0.3)
            ax.set_xlabel(title, fontsize=11)
            if g == 0 and key == "attention_correctness":
                ax.set_title(" ")  # keeps the two columns' tops level
    handles = [h for ax in grid[0] for h in ax.get_legend_handles_labels()[0]]
    labels = [t for ax in grid[0] for t in ax.get_legend_handles_labels()[1]]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), fontsize=10, frameon=False)
    atomic_write(path, lambda partial: fig.savefig(partial, dpi=100, format="png"))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1200)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="comma-separated variant names (default: all)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "ablation.json"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "benchmarks", "ablation.png"),
                        help="the PNG drawn from the JSON")
    parser.add_argument("--replot", action="store_true",
                        help="only draw --plot again from the JSON at --out (trains nothing)")
    args = parser.parse_args(argv)
    if args.replot:
        print(f"wrote {plot(read_json(args.out), args.plot)}")
        return
    chosen = VARIANTS if not args.only else {k: VARIANTS[k] for k in args.only.split(",")}
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        train = shapes("train", num_images=args.train, seed=seed)
        val = shapes("val", num_images=max(64, args.train // 10), seed=seed)
        test = shapes("test", num_images=args.test, seed=seed)
        data = (train, val, test, Vocabulary.build(train.all_captions(), min_count=1))
        rows += [run(name, options, data, args.epochs, args.batch_size, args.learning_rate, seed)
                 for name, options in chosen.items()]
    summary = summarise(rows)
    write_result(args.out, {"settings": vars(args), "demo_model": DEMO_MODEL, "variants": summary, "runs": rows})
    print(table(summary))
    print(f"wrote {plot(read_json(args.out), args.plot)}")


if __name__ == "__main__":
    main()
