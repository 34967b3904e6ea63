"""The demo: train a captioner (soft- or hard-attention LSTM, or Transformer) on the shapes data,
evaluate it, draw its attention."""
import os
import time

import dataclasses

import keras

from showattend.captioner import Captioner
from showattend.datasets import shapes
from showattend.evaluation import evaluate, format_metrics
from showattend.files import write_json
from showattend.text import Vocabulary
from showattend.training import Recipe, RunFolder, fit_best
from showattend.visualize import attention_animation, save_attention

# Sized to train on a CPU and still name every object right.
# doubly_stochastic=0: on this data (64 regions, 10–25 words a caption) the paper's λ = 1 pushes the
# 2–3 words of an object phrase onto different regions and the attention slides off the object
# (the ablation in docs/benchmarks/ablation.md measures it).
DEMO_MODEL = dict(backbone="small_vgg", embed_dim=64, units=128, attention_dim=64, dropout=0.3,
                  doubly_stochastic=0.0)
# The Transformer at the demo's scale: 2 blocks of width 128 with one head. A word's map is its
# cross-attention averaged over the heads; with 4 heads, seed 0 kept F1 (0.981) but its maps spread
# (attention correctness 0.272, 6.9× uniform; 1 head: 0.356, 9.0×), each head looking a little elsewhere.
DEMO_TRANSFORMER = dict(backbone="small_vgg", decoder="transformer", layers=2, heads=1, width=128, ff_width=256,
                        residual_dropout=0.1)
DEMO_MODELS = {"lstm": DEMO_MODEL, "transformer": DEMO_TRANSFORMER}
# The `train` command's recipe (training.Recipe) at the demo's scale: all 250 validation images are
# captioned every epoch and the best epoch is kept; the learning rate warms up for half an epoch and
# then decays (cosine) to 2% by the last epoch.
DEMO_RECIPE = Recipe(learning_rate=2e-3, val_images=250)
# The Transformer warms up for a whole epoch, at half the LSTM's peak rate.
DEMO_TRANSFORMER_RECIPE = Recipe(learning_rate=1e-3, warmup_epochs=1.0, val_images=250)
DEMO_RECIPES = {"lstm": DEMO_RECIPE, "transformer": DEMO_TRANSFORMER_RECIPE}
# Hard attention learns where to look more slowly (half its minibatches sample one region and learn
# the choice by REINFORCE): with 6 epochs one seed in three was still climbing at the end.
DEMO_EPOCHS = {"soft": 6, "hard": 9, "transformer": 8}


def run_demo(out="runs/demo", num_images=2500, epochs=None, seed=0, batch_size=64, recipe=None,
             num_figures=4, verbose=1, log=print, decoder="lstm", **model_options):
    """Train a captioner on the shapes data, evaluate it and draw its attention, into ``out``.

    The model is ``DEMO_MODELS[decoder]`` (with ``model_options`` over it), trained with
    ``fit_best`` and ``recipe``, the epoch with the best validation BLEU-4 kept; it is then evaluated on the test
    split (beam 3). ``out`` receives model.keras, config.json, history.csv, curves.png,
    metrics.json, captions.json, ``num_figures`` attention figures and an attention GIF. Running
    again with the same settings resumes an interrupted training (other settings are refused);
    one demo at a time writes to a folder.

    Args:
        out: the output folder.
        num_images: training images; validation has a tenth and test a sixth of it (at least 64
            each).
        epochs: epochs to train; by default ``DEMO_EPOCHS``: 6 for soft attention, 9 for hard, 8
            for the Transformer.
        seed: the seed of the data, the model's initial weights and the training.
        batch_size: captions per training batch.
        recipe: the ``showattend.training.Recipe`` (optimizer, schedule, validation); by default
            the decoder's ``DEMO_RECIPES`` (the Transformer's warms up for a whole epoch).
        num_figures: attention figures drawn, for the first test images.
        verbose: Keras' verbosity while training (0: silent, 1: a progress bar).
        log: called with each line of the report (``print`` by default).
        decoder: "lstm" (``DEMO_MODEL``) or "transformer" (``DEMO_TRANSFORMER``).
        **model_options: ``Captioner`` arguments that replace the demo model's, e.g.
            ``attention="hard"``.

    Returns:
        A dict of the test metrics (BLEU-1 to 4, METEOR, ROUGE-L, CIDEr-D, the semantic
        precision, recall and F1, and attention correctness where the captions name objects) with
        the run's settings,
        ``train_seconds`` and ``wall_seconds``; also written to ``out``/metrics.json.

    Raises:
        ValueError: ``out`` holds a run with other settings, or an unknown ``decoder``.
        LockedError: another demo is writing to ``out`` (``showattend.locks.LockedError``).
        UnwritableFolderError: ``out`` cannot be made or written to.

    Examples:
        A run trains and evaluates a model, more than an example here should do (``showattend
        demo`` on the command line runs the same):

            metrics = run_demo("runs/demo")
            metrics["BLEU-4"], metrics["best_epoch"]

        What it trains:

        >>> DEMO_MODEL["backbone"], DEMO_MODEL["units"], DEMO_EPOCHS
        ('small_vgg', 128, {'soft': 6, 'hard': 9, 'transformer': 8})
    """
    from showattend.files import writable_folder
    from showattend.locks import FolderLock

    if decoder not in DEMO_MODELS:
        raise ValueError(f"Unknown demo decoder {decoder!r}. Accepted: {', '.join(DEMO_MODELS)}.")
    model = {**DEMO_MODELS[decoder], **model_options}
    recipe = DEMO_RECIPES[decoder] if recipe is None else recipe
    writable_folder(out, "--out")
    with FolderLock(RunFolder(out).lock, "demo"):  # one demo writes to a folder at a time
        return _demo(out, num_images, epochs, seed, batch_size, recipe, num_figures, verbose, log, model)


def _demo(out, num_images, epochs, seed, batch_size, recipe, num_figures, verbose, log, model):
    started = time.time()
    os.makedirs(out, exist_ok=True)
    settings = {"num_images": num_images, "seed": seed, "batch_size": batch_size, "epochs": epochs,
                "model": model, "recipe": dataclasses.asdict(recipe)}
    run = RunFolder(out)
    run.check_same_run(settings)  # resuming another seed's backup would be wrong
    if run.resume_note(epochs):
        log(run.resume_note(epochs))
    keras.utils.set_random_seed(seed)
    log(f"Generating the shapes data (seed {seed}) …")
    train = shapes("train", num_images=num_images, seed=seed)
    val = shapes("val", num_images=max(64, num_images // 10), seed=seed)
    test = shapes("test", num_images=max(64, num_images // 6), seed=seed)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    log(f"  train {len(train)} images / {train.num_captions} captions, val {len(val)}, test {len(test)}; "
        f"vocabulary {len(vocabulary)} words")

    captioner = Captioner(vocabulary=vocabulary, seed=seed, **model)
    settings["epochs"] = epochs = epochs or DEMO_EPOCHS[captioner.decoder.options.get("attention", "transformer")]
    write_json(run.config, settings)
    log(f"Training a {captioner.decoder.describe()} captioner ({captioner.count_params():,} parameters) "
        f"for {epochs} epochs, keeping the epoch with the best validation BLEU-4 …")
    captioner = fit_best(captioner, train, val, out, epochs, batch_size, recipe, verbose=verbose)
    run.plot_curves()
    history, kept = run.read_history(), run.kept_epoch()
    log(f"Kept epoch {kept['epoch']} of {len(history)} (val BLEU-4 {kept['val_bleu4']:.4f})")
    train_seconds = time.time() - started

    log(f"Evaluating on {len(test)} test images (beam 3) …")
    captions = captioner.caption(test.images, beam_size=3, return_attention=True)
    metrics = evaluate(captioner, test, captions=captions)
    log(format_metrics(metrics))
    figures = [save_attention(os.path.join(out, f"attention_{n}.png"), test.images[n], captions[n])
               for n in range(min(num_figures, len(test)))]
    animation = attention_animation(test.images[0], captions[0], os.path.join(out, "attention_0.gif"))
    write_json(run.captions, [
        {"image": n, "caption": c.text, "score": c.score, "references": test.captions[n]}
        for n, c in enumerate(captions)])
    metrics.update(train_seconds=round(train_seconds, 1), wall_seconds=round(time.time() - started, 1),
                   epochs=epochs, best_epoch=kept["epoch"], num_images=num_images, seed=seed,
                   model=model, recipe=dataclasses.asdict(recipe))
    write_json(run.metrics, metrics)
    log(f"Wrote model.keras (epoch {kept['epoch']}), history.csv, curves.png, metrics.json, captions.json, "
        f"{len(figures)} attention figures and {os.path.basename(animation)} to {out}/ "
        f"in {metrics['wall_seconds']:.0f} s.")
    return metrics
