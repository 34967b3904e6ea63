"""The demo's recipe over several seeds: does every run reach the quality the docs promise?

    python benchmarks/demo_seeds.py [--seeds 0,1,2] [--attention soft,hard] [--out runs/demo_seeds]
    python benchmarks/demo_seeds.py --replot

Runs ``showattend demo`` (``run_demo``) once per seed and attention kind, each into its own folder
(a finished run is read back, an interrupted one resumes), then prints min / mean / max of the test
metrics per attention kind and writes ``benchmarks/demo_seeds.json``. The docs render the demo's
figures from that file (docs/benchmarks/demo.md). Then it draws ``docs/benchmarks/demo_seeds.png``
(``--plot``) from the JSON: BLEU-4, semantic F1 and attention correctness (with the uniform map's)
per seed, soft beside hard attention; ``--replot`` only draws it again from the existing JSON,
training nothing.
"""
import argparse
import json
import os
import sys

import numpy as np
from matplotlib.figure import Figure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend.demo import run_demo  # noqa: E402
from showattend.files import atomic_write, read_json  # noqa: E402
from record import write_result  # noqa: E402

REPORTED = ("semantic_f1", "BLEU-4", "METEOR", "CIDEr-D", "attention_correctness", "uniform_baseline",
            "best_epoch", "train_seconds")

PLOTTED = (("BLEU-4", "BLEU-4"), ("semantic_f1", "semantic F1"), ("attention_correctness", "attention correctness"))
COLORS = {"soft": "tab:blue", "hard": "tab:orange"}


def plot(result, path):
    """Draw ``result`` (what this script writes to ``benchmarks/demo_seeds.json``) into the PNG ``path``.

    One panel per metric (BLEU-4, semantic F1, attention correctness), a group of bars per seed with
    one bar per kind of attention and its value written in it; in the attention panel a black line
    across each bar marks what a uniform map scores on that run's captions.
    """
    seeds = [str(seed) for seed in result["seeds"]]
    kinds = list(result["runs"])
    width = 0.8 / len(kinds)
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    fig.suptitle("The demo per seed: soft and hard attention on the shapes test split", fontsize=13)
    axes = fig.subplots(1, len(PLOTTED))
    for ax, (key, title) in zip(axes, PLOTTED):
        for k, kind in enumerate(kinds):
            runs = {str(seed): run for seed, run in result["runs"][kind].items()}
            xs = [i + (k - (len(kinds) - 1) / 2) * width for i in range(len(seeds))]
            values = [runs[seed][key] if seed in runs and key in runs[seed] else np.nan for seed in seeds]
            ax.bar(xs, values, width * 0.92, color=COLORS.get(kind), label=f"{kind} attention")
            for x, value in zip(xs, values):
                if not np.isnan(value):  # inside the bar's top, above a bar too short to hold it
                    inside = value > 0.25
                    ax.text(x, value - 0.02 if inside else value + 0.02, f"{value:.3f}", rotation=90, ha="center",
                            va="top" if inside else "bottom", color="white" if inside else "black", fontsize=10.5)
            if key == "attention_correctness":
                for x, seed in zip(xs, seeds):
                    if seed in runs and "uniform_baseline" in runs[seed]:
                        ax.hlines(runs[seed]["uniform_baseline"], x - width / 2, x + width / 2, color="black",
                                  lw=2, label="uniform attention" if k == 0 and seed == seeds[0] else None)
        ax.set_xticks(range(len(seeds)), [f"seed {seed}" for seed in seeds], fontsize=11)
        ax.set_ylim(0, 1.05)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.tick_params(axis="y", labelsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.set_title(title, fontsize=12)
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=11, frameon=False)
    atomic_write(path, lambda partial: fig.savefig(partial, dpi=100, format="png"))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--attention", default="soft,hard")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "demo_seeds"))
    parser.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "demo_seeds.json"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "benchmarks", "demo_seeds.png"),
                        help="the PNG drawn from the JSON")
    parser.add_argument("--replot", action="store_true",
                        help="only draw --plot again from the JSON at --json (trains nothing)")
    args = parser.parse_args(argv)
    if args.replot:
        print(f"wrote {plot(read_json(args.json), args.plot)}")
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {}
    for attention in args.attention.split(","):
        for seed in seeds:
            folder = os.path.join(args.out, f"{attention}_{seed}")
            done = os.path.join(folder, "metrics.json")
            if os.path.isfile(done):
                with open(done, encoding="utf-8") as f:
                    metrics = json.load(f)
            else:
                print(f"=== {attention} attention, seed {seed} → {folder}", flush=True)
                metrics = run_demo(folder, seed=seed, attention=attention, verbose=2)
            runs.setdefault(attention, {})[seed] = {k: metrics[k] for k in REPORTED if k in metrics}
    summary = {attention: {k: {"min": float(np.min(v)), "mean": float(np.mean(v)), "max": float(np.max(v))}
                           for k in REPORTED if (v := [r[k] for r in by_seed.values() if k in r])}
               for attention, by_seed in runs.items()}
    write_result(args.json, {"seeds": seeds, "runs": runs, "summary": summary})
    print(f"\n| attention | metric | min | mean | max |  ({len(seeds)} seeds: {args.seeds})\n|---|---|---:|---:|---:|")
    for attention, rows in summary.items():
        for name, s in rows.items():
            print(f"| {attention} | {name} | {s['min']:.3f} | {s['mean']:.3f} | {s['max']:.3f} |")
    print(f"wrote {args.json}")
    print(f"wrote {plot(read_json(args.json), args.plot)}")


if __name__ == "__main__":
    main()
