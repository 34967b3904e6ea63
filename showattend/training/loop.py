"""The training loop that `showattend train`, the demo and the tuner's users share: ``fit_best``
compiles a captioner with a ``Recipe``, fits it with the callbacks that keep the best epoch by
validation BLEU-4 and back up every epoch, and stops at a safe point on Ctrl-C or SIGTERM."""
import os
import time

import keras

from showattend.callbacks import (AttentionFigures, Backup, CaptionMetrics, HistoryCSV, StopWhenAsked, read_history,
                                  write_history)
from showattend.files import write_json
from showattend.signals import at_safe_points
from showattend.training.recipe import Recipe
from showattend.training.run_folder import RunFolder, kept_epoch  # noqa: F401 (kept_epoch: the examples)

__all__ = ["fit_best", "steps_per_epoch"]


def steps_per_epoch(captioner, train, batch_size, feature_cache=None):
    """Batches in one epoch of ``captioner.make_dataset(train, batch_size)``: what the schedule counts.

    A batch holds an image once, with the number of captions most images have; the last partial
    batch is dropped.

    Args:
        captioner: The captioner to train (the count does not depend on it).
        train: The training ``CaptionDataset``.
        batch_size: Captions in a batch.
        feature_cache: A ``FeatureCache`` to train from: its unreadable images are not counted.

    Returns:
        The number of batches, at least 1.

    Examples:

        >>> from showattend.datasets import shapes
        >>> steps_per_epoch(None, shapes("train", 100, image_size=32), batch_size=16)  # 4 images of 4 captions
        25
    """
    from showattend.data.pipeline import group_captions

    if feature_cache is not None:
        train = feature_cache.cached_part(train)
    per_image, groups = group_captions(train.captions)
    return max(1, len(groups) // max(1, batch_size // per_image))


def fit_best(captioner, train, val, out, epochs, batch_size=64, recipe=None, feature_cache=None,
             tensorboard=None, callbacks=(), verbose=1):
    """Compile and fit ``captioner`` with ``recipe``, keeping the best epoch by validation BLEU-4.

    Writes ``out/model.keras`` (the best epoch), ``kept_epoch.json``, ``history.csv`` and ``backup/``;
    run it again with the same arguments after a kill and it resumes from the last finished epoch (a
    run that finished trains no further unless ``epochs`` grew). A cosine schedule spans ``epochs``:
    resuming a finished run with more epochs stretches it, so the learning rate goes back up to where
    the longer schedule is at that epoch.

    A ``captioner`` made under a ``MultiWorkerMirroredStrategy`` trains with ``fit_workers`` (Keras'
    ``fit`` fails under it): call ``fit_best`` on every worker alike. The chief validates, writes
    ``out`` and resumes from its backup; the others write nothing and get its state and scores.

    Args:
        captioner: A ``Captioner`` (compiled here).
        train: The training ``CaptionDataset``.
        val: The validation ``CaptionDataset`` (``recipe.val_images`` of its images are captioned).
        out: The run's folder.
        epochs: Epochs to train, in all (a resumed run counts those done).
        batch_size: Captions in a batch.
        recipe: A ``Recipe``; None: ``Recipe()``.
        feature_cache: A ``FeatureCache`` of the frozen backbone's features to train from.
        tensorboard: A TensorBoard log folder (with ``AttentionFigures`` of 3 validation images); None: none.
        callbacks: More Keras callbacks.
        verbose: Keras' progress output (0, 1 or 2).

    Returns:
        The best epoch's model, loaded back from ``out/model.keras`` (on a worker other than the
        chief, ``captioner`` as trained).

    Raises:
        FileNotFoundError: When no epoch ran and ``out`` holds no ``model.keras``.

    Examples:

        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> train, val = shapes("train", 8, image_size=32), shapes("val", 2, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(train.all_captions()), image_size=(32, 32), units=16,
        ...                   max_length=8, seed=0)
        >>> best = fit_best(model, train, val, "runs/mine", epochs=1, batch_size=8, recipe=Recipe(val_images=2),
        ...                 verbose=0)
        >>> sorted(os.listdir("runs/mine")), kept_epoch("runs/mine")["epoch"]
        (['backup', 'history.csv', 'kept_epoch.json', 'model.keras'], 1)
    """
    from showattend.training.cluster import is_chief, is_multi_worker

    recipe, run = recipe or Recipe(), RunFolder(out)
    strategy = captioner.distribute_strategy
    workers, chief = is_multi_worker(strategy), is_chief(strategy)
    if chief:
        os.makedirs(out, exist_ok=True)
    if workers:
        from showattend.training.multi_worker import worker_steps

        steps = worker_steps(captioner, train, batch_size, feature_cache=feature_cache)
    else:
        steps = steps_per_epoch(captioner, train, batch_size, feature_cache)
    with strategy.scope():  # the optimizer's slots are made under the model's strategy
        captioner.compile(optimizer=recipe.optimizer(steps, epochs))
    found = _callbacks(captioner, val, run, recipe, feature_cache, tensorboard, verbose) if chief else []
    if workers:  # the chief restores, validates and writes; every worker gets its state and scores
        from showattend.training.multi_worker import FromChief

        found.append(FromChief())
    if recipe.schedule == "plateau":
        found.append(keras.callbacks.ReduceLROnPlateau("val_bleu4", factor=0.5, patience=recipe.patience_lr,
                                                       mode="max", verbose=verbose if chief else 0))
    if recipe.early_stopping:
        found.append(keras.callbacks.EarlyStopping("val_bleu4", mode="max", patience=recipe.early_stopping))
    if tensorboard and chief:
        found += [keras.callbacks.TensorBoard(tensorboard), AttentionFigures(tensorboard, val.images[:3])]
    found += list(callbacks) + [StopWhenAsked()]
    with at_safe_points():  # a Ctrl-C or SIGTERM stops at the end of a batch (StopWhenAsked), the backup kept
        if workers:
            from showattend.training.multi_worker import fit_workers

            fit_workers(captioner, train, epochs, batch_size, seed=captioner.seed or 0, feature_cache=feature_cache,
                        callbacks=found + ([EpochLine(epochs)] if verbose and chief else []))
        else:
            captioner.fit(train, validation_data=val, epochs=epochs, batch_size=batch_size, verbose=verbose,
                          feature_cache=feature_cache, callbacks=found)
    if not chief:  # the chief holds the kept model; this worker's copy is the last epoch's
        return captioner
    from showattend.saving import load_captioner

    if not os.path.isfile(model_path := run.model):  # no epoch ran (it had finished before) and no model was kept
        raise FileNotFoundError(f"{model_path} is missing: delete {out!r} and train anew.")
    return load_captioner(model_path)


def _callbacks(captioner, val, run, recipe, feature_cache, tensorboard, verbose):
    """The callbacks that validate and write the run's folder, the validation first (what the others read)."""
    # A kill between an epoch's history row and its backup leaves a row the resumed run will redo.
    history = read_history(run.history)
    if any(r["epoch"] > run.backed_up_epochs() for r in history):
        write_history(run.history, [r for r in history if r["epoch"] <= run.backed_up_epochs()])
    kept = run.kept_epoch()  # the score of the model in model.keras: the bar a resumed run must beat
    metrics = CaptionMetrics(val, max_images=recipe.val_images, beam_size=recipe.val_beam, feature_cache=feature_cache,
                             seed=captioner.seed or 0, verbose=verbose)
    checkpoint = keras.callbacks.ModelCheckpoint(run.model, monitor="val_bleu4", mode="max", save_best_only=True,
                                                 initial_value_threshold=kept.get("val_bleu4"))
    return [metrics, checkpoint, KeptEpoch(checkpoint, run.kept), HistoryCSV(run.history), Backup(run.backup)]


class EpochLine(keras.callbacks.Callback):
    """Prints one line per epoch: the epoch, its mean losses and its time (``fit_workers`` has no progress bar)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs, self.started = epochs, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        shown = ", ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
        print(f"Epoch {epoch + 1}/{self.epochs}: {shown} ({time.time() - self.started:.0f} s)", flush=True)


class KeptEpoch(keras.callbacks.Callback):
    """Writes ``kept_epoch.json`` whenever the ``ModelCheckpoint`` before it saves a better model.

    The file holds the epoch and the validation scores of the model in ``model.keras``.
    """

    def __init__(self, checkpoint, path):
        super().__init__()
        self.checkpoint, self.path, self.best = checkpoint, path, checkpoint.best

    def on_epoch_end(self, epoch, logs=None):
        if self.checkpoint.best != self.best:
            self.best = self.checkpoint.best
            write_json(self.path, {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()
                                                           if k.startswith("val_")}})
