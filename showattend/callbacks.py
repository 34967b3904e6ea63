"""Keras callbacks for captioners: free-running validation metrics every epoch (CaptionMetrics), attention
figures in TensorBoard (AttentionFigures), and a history file that survives a resume (HistoryCSV)."""
import os
import time
import warnings

import keras
import numpy as np

from showattend.data.dataset import CaptionDataset
from showattend.evaluation import cider_d, corpus_bleu4
from showattend.signals import stop_if_asked
from showattend.text.vocabulary import tokenize


class CaptionMetrics(keras.callbacks.Callback):
    """Captions a fixed validation subset free-running (never teacher-forced) at the end of every epoch
    and writes ``val_bleu4`` and ``val_cider`` into the epoch's logs.

    ``Captioner.fit`` runs it before the other callbacks, so ``ModelCheckpoint(monitor="val_bleu4",
    mode="max", save_best_only=True)``, ``EarlyStopping``, ``CSVLogger``, TensorBoard and keras-tuner
    all see the scores. The subset is ``max_images`` images drawn once with ``seed``; the images are
    decoded once, at the start of training, or read from ``feature_cache``. ``last_captions`` holds the
    latest epoch's captions.

    >>> metrics = CaptionMetrics(val, max_images=200)  # doctest: +SKIP
    >>> checkpoint = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_bleu4", mode="max",
    ...                                              save_best_only=True)  # doctest: +SKIP
    >>> model.fit(train, epochs=10, callbacks=[metrics, checkpoint])  # doctest: +SKIP
    """

    def __init__(self, val_data, max_images=500, beam_size=1, batch_size=64, feature_cache=None, seed=0,
                 verbose=0):
        super().__init__()
        if not isinstance(val_data, CaptionDataset):
            raise ValueError(f"CaptionMetrics needs a CaptionDataset of validation images, got "
                             f"{type(val_data).__name__}.")
        if not isinstance(max_images, int) or max_images < 1:
            raise ValueError(f"max_images must be a positive integer, got {max_images!r}.")
        if len(val_data) > max_images:
            chosen = np.random.default_rng(seed).choice(len(val_data), max_images, replace=False)
            val_data = val_data.subset(sorted(chosen))
        if feature_cache is not None:
            val_data = feature_cache.cached_part(val_data)
        self.data, self.beam_size, self.batch_size = val_data, int(beam_size), int(batch_size)
        self.feature_cache, self.verbose = feature_cache, verbose
        self.references = [[tokenize(c) for c in refs] for refs in val_data.captions]
        self.last_captions = None
        self._inputs = None

    def _load_inputs(self):
        if self.feature_cache is not None:
            return self.feature_cache.read(self.data.images)
        if isinstance(self.data.images, np.ndarray):
            return self.data.images
        from showattend.data.unreadable import UnreadableImages

        unreadable = UnreadableImages(self.data.on_bad_image)
        arrays, keep = unreadable.read_all(self.data.images, self.model.image_size)
        if not keep:
            raise ValueError(f"None of the {len(self.data)} validation images could be read, e.g. "
                             f"{next(iter(unreadable.skipped.values()))}.")
        unreadable.warn()
        if len(keep) < len(self.data):
            self.data = self.data.subset(keep)
            self.references = [self.references[i] for i in keep]
        return np.stack(arrays)

    def on_train_begin(self, logs=None):
        if self._inputs is None:
            self._inputs = self._load_inputs()

    def on_epoch_end(self, epoch, logs=None):
        if self._inputs is None:
            self._inputs = self._load_inputs()
        started = time.time()
        caption = self.model.caption_features if self.feature_cache is not None else self.model.caption
        captions = caption(self._inputs, beam_size=self.beam_size, batch_size=self.batch_size)
        hypotheses = [c.tokens for c in captions]
        scores = {"val_bleu4": corpus_bleu4(self.references, hypotheses),
                  "val_cider": cider_d(self.references, hypotheses)}
        self.last_captions = captions
        if logs is not None:
            logs.update(scores)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: val BLEU-4 {scores['val_bleu4']:.4f}, CIDEr-D {scores['val_cider']:.4f} "
                  f"({len(captions)} images, beam {self.beam_size}, {time.time() - started:.0f} s); "
                  f"e.g. {captions[0].text!r}")


class AttentionFigures(keras.callbacks.Callback):
    """Writes, at the end of every epoch, the attention figure of a few fixed images to TensorBoard
    (``log_dir/attention``), so you can watch attention form while the model trains.

    >>> callbacks = [keras.callbacks.TensorBoard("logs"), AttentionFigures("logs", val.images[:3])]  # doctest: +SKIP
    """

    def __init__(self, log_dir, images, beam_size=1):
        super().__init__()
        self.log_dir, self.beam_size, self.images = os.fspath(log_dir), int(beam_size), images
        self._arrays, self._writer = None, None

    def _load(self):
        """The images as arrays, files read at the model's size (an unreadable one is left out)."""
        from showattend.data.images import as_image_list

        arrays = []
        for image in (list(self.images) if isinstance(self.images, (list, tuple)) else [self.images]):
            try:
                arrays += as_image_list(image, min_size=self.model.image_size)
            except (ValueError, OSError) as error:
                warnings.warn(f"AttentionFigures leaves out an image: {error}")
        return arrays

    def on_epoch_end(self, epoch, logs=None):
        import io

        import tensorflow as tf
        from PIL import Image

        from showattend.visualize import plot_attention

        if self._arrays is None:
            self._arrays = self._load()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "attention"))
        if not self._arrays:
            return
        captions = self.model.caption(self._arrays, beam_size=self.beam_size, return_attention=True)
        with self._writer.as_default():
            for n, (image, caption) in enumerate(zip(self._arrays, captions)):
                buffer = io.BytesIO()
                plot_attention(image, caption, cols=6).savefig(buffer, format="png")
                pixels = np.asarray(Image.open(buffer).convert("RGB"))
                tf.summary.image(f"attention_{n}", pixels[None], step=epoch, description=caption.text)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class HistoryCSV(keras.callbacks.Callback):
    """Writes every epoch's logs to a CSV file, atomically, one row per epoch (``epoch`` counts from 1).

    Unlike ``keras.callbacks.CSVLogger`` it is safe across a kill and a resume: a rerun epoch replaces
    its row instead of adding a second one, and rows of later epochs (from an older run) are dropped.

    >>> model.fit(train, epochs=5, callbacks=[HistoryCSV("history.csv")])  # doctest: +SKIP
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch, logs=None):
        rows = [r for r in read_history(self.path) if r["epoch"] <= epoch]
        rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()
                                           if np.ndim(v) == 0 and not isinstance(v, str)}})
        write_history(self.path, rows)


def read_history(path):
    """The rows of a history CSV as dicts of floats (``epoch`` an int); [] when there is no file.

    >>> [row["val_bleu4"] for row in read_history("runs/demo/history.csv")]  # doctest: +SKIP
    [0.51, 0.79, 0.94, 0.98, 0.99, 0.99]
    """
    import csv

    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: int(v) if k == "epoch" else float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def write_history(path, rows):
    """Write history rows (dicts with an ``epoch``) as CSV, atomically; columns are every key seen.

    >>> write_history("history.csv", [{"epoch": 1, "loss": 3.2}, {"epoch": 2, "loss": 2.1}])  # doctest: +SKIP
    """
    import csv
    import io

    from showattend.files import write_text

    columns = ["epoch"] + sorted({k for r in rows for k in r} - {"epoch"})
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, text.getvalue())


class Backup(keras.callbacks.Callback):
    """Back up the weights, the optimizer and the epoch at the end of every epoch, and restore them
    when ``fit`` starts again: ``keras.callbacks.BackupAndRestore`` at epoch granularity, made safe
    against a kill at any moment.

    Keras' callback rewrites ``latest.weights.h5`` in place, so Ctrl-C during that write left a
    file that no longer loads ("13 objects could not be loaded") and the run could not resume. Here
    each epoch's weights go to a file of their own (``epoch_0003.weights.h5``); then
    ``training_metadata.json``, written atomically, names it (the backup counts from that moment);
    then the older file is removed. A backup written by ``BackupAndRestore`` (``latest.weights.h5``)
    is still restored.

    >>> model.fit(train, epochs=10, callbacks=[Backup("runs/mine/backup")])  # doctest: +SKIP
    """

    METADATA = "training_metadata.json"
    KERAS_WEIGHTS = "latest.weights.h5"  # BackupAndRestore's file, for backups it wrote

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)

    def on_train_begin(self, logs=None):
        from showattend.files import read_json

        path = os.path.join(self.backup_dir, self.METADATA)
        if not os.path.isfile(path):
            return
        metadata = read_json(path, advice=f"delete {self.backup_dir} to train from the start")
        weights = os.path.join(self.backup_dir, metadata.get("weights", self.KERAS_WEIGHTS))
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(weights)
        except (OSError, ValueError) as error:
            raise ValueError(f"The backup {weights!r} cannot be restored ({str(error).splitlines()[0]}): delete "
                             f"{self.backup_dir} to train from the start.") from None
        self.model._initial_epoch = int(metadata["epoch"])  # what Keras' BackupAndRestore sets

    def on_epoch_end(self, epoch, logs=None):
        from showattend.files import write_json

        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch_{epoch + 1:04d}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, name), overwrite=True)
        write_json(os.path.join(self.backup_dir, self.METADATA), {"epoch": epoch + 1, "batch": 0, "weights": name})
        for old in os.listdir(self.backup_dir):
            if old.endswith(".weights.h5") and old != name:
                os.remove(os.path.join(self.backup_dir, old))


class StopWhenAsked(keras.callbacks.Callback):
    """Makes the end of every batch and epoch of ``fit``, ``evaluate`` and ``predict`` a safe point at
    which a Ctrl-C or SIGTERM noted by ``showattend.signals`` stops the run (``Captioner.fit`` adds it)."""

    def on_train_begin(self, logs=None):
        stop_if_asked()

    def on_train_batch_end(self, batch, logs=None):
        stop_if_asked()

    def on_test_batch_end(self, batch, logs=None):
        stop_if_asked()

    def on_predict_batch_end(self, batch, logs=None):
        stop_if_asked()

    def on_epoch_end(self, epoch, logs=None):
        stop_if_asked()
