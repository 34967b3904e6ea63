"""Ablation of the decoder on the shapes data: soft vs hard attention, each cell, each attention
score, and each of β, the deep output layer, the doubly stochastic term and the initial state
switched from the demo model's setting. Same data, budget and seeds for every variant.

    python benchmarks/ablation.py [--train 1200] [--epochs 5] [--seeds 0,1,2] [--only soft,hard]

Every variant trains with the demo's recipe (``showattend.training.fit_best``: warm-up and cosine
decay, clipped gradients, the epoch with the best validation BLEU-4 kept) once per seed. Writes
``benchmarks/ablation.json`` and prints a Markdown table: semantic F1 (mean, min–max over the
seeds), BLEU-4, CIDEr-D, attention correctness (uniform baseline alongside) and training seconds,
as means.
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
from showattend import Captioner, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402
from showattend.demo import DEMO_MODEL, DEMO_RECIPE  # noqa: E402
from showattend.evaluation import evaluate  # noqa: E402
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
