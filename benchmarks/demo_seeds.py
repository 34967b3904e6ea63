"""The demo's recipe over several seeds: does every run reach the quality the README promises?

    python benchmarks/demo_seeds.py [--seeds 0,1,2] [--attention soft,hard] [--out runs/demo_seeds]

Runs ``showattend demo`` (``run_demo``) once per seed and attention kind, each into its own folder
(a finished run is read back, an interrupted one resumes), then prints min / mean / max of the test
metrics per attention kind and writes ``benchmarks/demo_seeds.json``. The README's demo figures
come from here.
"""
import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from showattend.demo import run_demo  # noqa: E402
from record import write_result  # noqa: E402

REPORTED = ("semantic_f1", "BLEU-4", "METEOR", "CIDEr-D", "attention_correctness", "uniform_baseline",
            "best_epoch", "train_seconds")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--attention", default="soft,hard")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "demo_seeds"))
    parser.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "demo_seeds.json"))
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
