"""Ablation of the decoder on the shapes data: soft vs hard attention, each cell, each attention
score, and each of β, the deep output layer, the doubly stochastic term and the initial state
switched from the demo model's setting. Same data, budget and seed for every variant.

    python benchmarks/ablation.py [--train 1200] [--epochs 5] [--only soft,hard]

Writes ``benchmarks/ablation.json`` and prints a Markdown table: semantic F1, BLEU-4, CIDEr-D,
attention correctness (uniform baseline alongside) and training seconds per variant.
"""
import argparse
import os
import sys
import time

import keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend import Captioner, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402
from showattend.demo import DEMO_MODEL  # noqa: E402
from showattend.evaluation import evaluate  # noqa: E402
from showattend.files import write_json  # noqa: E402

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
    train, test, vocabulary = data
    keras.utils.set_random_seed(seed)
    model = Captioner(vocabulary=vocabulary, seed=seed, **{**DEMO_MODEL, **options})
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    start = time.perf_counter()
    model.fit(train, epochs=epochs, batch_size=batch_size, verbose=0)
    train_seconds = time.perf_counter() - start
    metrics = evaluate(model, test, beam_size=3)
    row = {"variant": name, "options": options, "parameters": model.count_params(),
           "train_seconds": round(train_seconds, 1), **{k: metrics[k] for k in (
               "semantic_f1", "BLEU-4", "CIDEr-D", "attention_correctness", "uniform_baseline")}}
    print(row, flush=True)
    return row


def table(rows):
    lines = ["| variant | semantic F1 | BLEU-4 | CIDEr-D | attention correctness | training (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['semantic_f1']:.3f} | {r['BLEU-4']:.3f} | {r['CIDEr-D']:.2f} | "
                     f"{r['attention_correctness']:.3f} | {r['train_seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1200)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated variant names (default: all)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "ablation.json"))
    args = parser.parse_args(argv)
    chosen = VARIANTS if not args.only else {k: VARIANTS[k] for k in args.only.split(",")}
    train = shapes("train", num_images=args.train, seed=args.seed)
    test = shapes("test", num_images=args.test, seed=args.seed)
    data = (train, test, Vocabulary.build(train.all_captions(), min_count=1))
    rows = [run(name, options, data, args.epochs, args.batch_size, args.learning_rate, args.seed)
            for name, options in chosen.items()]
    write_json(args.out, {"settings": vars(args), "demo_model": DEMO_MODEL, "variants": rows})
    print(table(rows))


if __name__ == "__main__":
    main()
