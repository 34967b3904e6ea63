"""Every registered backbone: parameters, feature grid, and forward images/s on this machine.

    python benchmarks/backbones.py [--out benchmarks/backbones.json] [--batch 8] [--seconds 3]

Forward speed is measured at 224×224 for every backbone and also at 64×64 for the low-resolution
ones (stride 8), with a compiled (tf.function, no XLA) call on a batch of random uint8-range images:
one warm-up call, then as many calls as fit in ``--seconds`` (at least 2). Writes JSON and prints
a Markdown table.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cnn_backbones import backbone_info, create_backbone, list_backbones  # noqa: E402
from record import write_result  # noqa: E402


def images_per_second(model, size, batch, seconds):
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (batch, size, size, 3)).astype("float32"))
    forward = tf.function(lambda x: model(x, training=False))
    forward(images).numpy()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        forward(images).numpy()
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def measure(name, batch, seconds):
    info = backbone_info(name)
    row = {"name": name, "family": info.family, "imagenet_weights": info.imagenet_weights}
    sizes = [224] + ([64] if info.feature_stride == 8 else [])
    for size in sizes:
        model = create_backbone(name, input_shape=(size, size, 3))
        if size == 224:
            row["parameters"] = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        row[f"grid_{size}"] = list(model.output_shape[1:])
        row[f"images_per_s_{size}"] = round(images_per_second(model, size, batch, seconds), 1)
    return row


def table(rows):
    lines = ["| backbone | params | grid at 224 | img/s at 224 | grid at 64 | img/s at 64 | ImageNet weights |",
             "|---|---:|---|---:|---|---:|---|"]
    for r in rows:
        g64 = "×".join(map(str, r["grid_64"])) if "grid_64" in r else ""
        lines.append(f"| `{r['name']}` | {r['parameters'] / 1e6:.2f} M | {'×'.join(map(str, r['grid_224']))} | "
                     f"{r['images_per_s_224']:g} | {g64} | {r.get('images_per_s_64', '')} | "
                     f"{'yes' if r['imagenet_weights'] else ''} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "backbones.json"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pattern", default="*")
    args = parser.parse_args(argv)
    rows = []
    for name in list_backbones(args.pattern):
        rows.append(measure(name, args.batch, args.seconds))
        print(rows[-1], flush=True)
    result = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
                          "devices": [d.device_type for d in tf.config.list_physical_devices()]},
              "batch": args.batch, "backbones": rows}
    write_result(args.out, result)
    print(table(rows))


if __name__ == "__main__":
    main()
