"""Two stories of the backbone families, told on a shapes classification task (same data, budget, seed):

1. GoogLeNet's auxiliary classifiers: ``small_googlenet`` trained with and without its two aux heads
   (loss weight 0.3 each), 64×64 images.
2. Highway vs plain: a 32-layer highway net against its plain twin (every highway layer a conv-ReLU
   layer), widths 16/32/64, Keras' default initializer, no batch norm, 32×32 images.

Task: the colour and shape of the first object in reading order (12 classes, chance 1/12).
Writes ``benchmarks/backbone_comparison.json`` and the curves to ``docs/backbone_comparison.png``.

    python benchmarks/backbone_comparison.py [--train 3000] [--epochs 8]
"""
import argparse
import os
import sys
import time

import keras
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from cnn_backbones import classifier_compile_args, classifier_targets, create_classifier, inference_model  # noqa: E402
from showattend.datasets.shapes import COLOURS, SHAPES, shapes  # noqa: E402
from record import write_result  # noqa: E402

CLASSES = [(c, s) for c in COLOURS for s in SHAPES]


def classification_data(split, num_images, image_size, seed):
    data = shapes(split, num_images=num_images, image_size=image_size, seed=seed)
    labels = np.array([CLASSES.index(tuple(objects[0].name)) for objects in data.objects])
    return data.images.astype("float32"), labels


def train(name, model, train_data, val_data, epochs, batch_size, learning_rate, seed):
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), **classifier_compile_args(model))
    predictor = inference_model(model)
    images, labels = train_data
    curve = []
    start = time.perf_counter()
    for epoch in range(epochs):
        history = model.fit(images, classifier_targets(model, labels), batch_size=batch_size, epochs=1,
                            shuffle=True, verbose=0)
        logits = predictor.predict(val_data[0], batch_size=256, verbose=0)
        main_loss = history.history.get("logits_loss", history.history["loss"])[0]
        curve.append({"epoch": epoch + 1, "train_loss": float(main_loss),
                      "val_accuracy": float(np.mean(logits.argmax(-1) == val_data[1]))})
        print(name, curve[-1], flush=True)
    return {"name": name, "parameters": int(sum(np.prod(w.shape) for w in predictor.trainable_weights)),
            "train_seconds": round(time.perf_counter() - start, 1), "curve": curve,
            "final_val_accuracy": curve[-1]["val_accuracy"], "best_val_accuracy": max(c["val_accuracy"] for c in curve)}


def plot(stories, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, (title, runs) in zip(axes, stories.items()):
        for run in runs:
            epochs = [c["epoch"] for c in run["curve"]]
            ax.plot(epochs, [c["val_accuracy"] for c in run["curve"]], marker="o", label=run["name"])
        ax.axhline(1 / len(CLASSES), color="grey", linestyle=":", label="chance")
        ax.set(title=title, xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
        ax.legend()
    tmp = f"{path}.partial.png"
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--val", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "backbone_comparison.json"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "backbone_comparison.png"))
    args = parser.parse_args(argv)
    common = dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed)

    data64 = [classification_data(s, n, 64, args.seed) for s, n in (("train", args.train), ("val", args.val))]
    googlenet = []
    for aux in (False, True):
        keras.utils.set_random_seed(args.seed)
        model = create_classifier("small_googlenet", len(CLASSES), input_shape=(64, 64, 3), aux_heads=aux, dropout=0.4)
        googlenet.append(train(f"small_googlenet, aux heads {'on' if aux else 'off'}", model, *data64, **common))

    data32 = [classification_data(s, n, 32, args.seed) for s, n in (("train", args.train), ("val", args.val))]
    deep = []
    for block in ("plain", "highway"):
        keras.utils.set_random_seed(args.seed)
        model = create_classifier("highway32", len(CLASSES), input_shape=(32, 32, 3), block=block, widths=(16, 32, 64))
        deep.append(train(f"32 layers, {block}", model, *data32, **common))

    stories = {"GoogLeNet auxiliary heads (64 px)": googlenet, "highway vs plain, 32 layers (32 px)": deep}
    write_result(args.out, {"task": "colour and shape of the first object (12 classes)", "settings": vars(args),
                          "stories": stories})
    plot(stories, args.plot)
    for runs in stories.values():
        for r in runs:
            print(f"| {r['name']} | {r['parameters']:,} | {r['final_val_accuracy']:.3f} | "
                  f"{r['best_val_accuracy']:.3f} | {r['train_seconds']:.0f} s |")


if __name__ == "__main__":
    main()
