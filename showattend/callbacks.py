"""Keras callbacks for training captioners.

Free-running validation metrics every epoch (``CaptionMetrics``), attention figures in TensorBoard
(``AttentionFigures``), a history file and a backup that survive a kill and a resume (``HistoryCSV``,
``Backup``), and the safe points at which a Ctrl-C or SIGTERM stops training (``StopWhenAsked``).
"""
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
    """Scores free-running validation captions at the end of every epoch: ``val_bleu4`` and ``val_cider``.

    It captions a fixed validation subset free-running (never teacher-forced) and writes the scores
    into the epoch's logs. Keras calls callbacks in the order given, so list it first: then
    ``ModelCheckpoint(monitor="val_bleu4", mode="max", save_best_only=True)``, ``EarlyStopping``,
    ``CSVLogger``, TensorBoard and keras-tuner all see them (``fit_best`` and the tuner do):
    ``model.fit(train, epochs=10, callbacks=[CaptionMetrics(val), checkpoint])``. The images are
    decoded once, at the start of training, or read from ``feature_cache``.

    Args:
        val_data: The validation ``CaptionDataset``.
        max_images: How many of its images to caption, drawn once with ``seed``.
        beam_size: The beam width of the captions scored (1: greedy).
        batch_size: Images captioned at a time.
        feature_cache: A ``FeatureCache`` to read the images' features from (a model trained from it).
        seed: The seed of the draw of ``max_images`` images.
        verbose: 1 prints the scores and a caption every epoch.

    Attributes:
        last_captions: The latest epoch's captions (a list of ``Caption``), None before the first.

    Raises:
        ValueError: When ``val_data`` is not a ``CaptionDataset`` or ``max_images`` not a positive
            integer; at the start of training, when none of the images can be read.

    Examples:

        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> val = shapes("val", 4, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(val.all_captions()), image_size=(32, 32), units=16,
        ...                   max_length=8, seed=0)
        >>> metrics = CaptionMetrics(val, max_images=2)
        >>> metrics.set_model(model)  # what fit does, then on_epoch_end after every epoch
        >>> logs = {"loss": 3.1}
        >>> metrics.on_epoch_end(0, logs)
        >>> sorted(logs), len(metrics.last_captions)
        (['loss', 'val_bleu4', 'val_cider'], 2)
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
        self._inputs, self._seconds = None, 0.0

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

    def _score(self):
        started = time.time()
        if self._inputs is None:
            self._inputs = self._load_inputs()
        caption = self.model.caption_features if self.feature_cache is not None else self.model.caption
        captions = caption(self._inputs, beam_size=self.beam_size, batch_size=self.batch_size)
        hypotheses = [c.tokens for c in captions]
        self.last_captions, self._seconds = captions, time.time() - started
        return {"val_bleu4": corpus_bleu4(self.references, hypotheses), "val_cider": cider_d(self.references, hypotheses)}

    def on_train_begin(self, logs=None):
        if self._inputs is None:
            self._inputs = self._load_inputs()

    def on_epoch_end(self, epoch, logs=None):
        scores, captions = self._score(), self.last_captions
        if logs is not None:
            logs.update(scores)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: val BLEU-4 {scores['val_bleu4']:.4f}, CIDEr-D {scores['val_cider']:.4f} "
                  f"({len(captions)} images, beam {self.beam_size}, {self._seconds:.0f} s); "
                  f"e.g. {captions[0].text!r}")


class AttentionFigures(keras.callbacks.Callback):
    """Writes the attention figures of a few fixed images to TensorBoard at the end of every epoch.

    The figures go to ``log_dir/attention``, so you can watch attention form while the model
    trains: ``callbacks=[keras.callbacks.TensorBoard("logs"), AttentionFigures("logs", val.images[:3])]``.
    An image that cannot be read is left out with a warning.

    Args:
        log_dir: TensorBoard's log folder.
        images: An image or a list of them: arrays, or files read at the model's size.
        beam_size: The beam width of the captions drawn (1: greedy).

    Examples:

        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> val = shapes("val", 1, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(val.all_captions()), image_size=(32, 32), units=16,
        ...                   max_length=8, seed=0)
        >>> figures = AttentionFigures("logs", list(val.images))
        >>> figures.set_model(model)  # what fit does, then on_epoch_end after every epoch
        >>> figures.on_epoch_end(0)
        >>> figures.on_train_end()
        >>> os.listdir("logs/attention")
        ['events.out.tfevents...']
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

    Args:
        path: The CSV file (``read_history`` reads it back).

    Examples:

        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> x, y = np.ones((8, 2)), np.ones((8, 1))
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[HistoryCSV("history.csv")])
        >>> [(row["epoch"], sorted(row)) for row in read_history("history.csv")]
        [(1, ['epoch', 'loss']), (2, ['epoch', 'loss'])]
        >>> _ = model.fit(x, y, initial_epoch=1, epochs=2, verbose=0,  # epoch 2 again, as a resumed run does
        ...               callbacks=[HistoryCSV("history.csv")])
        >>> [row["epoch"] for row in read_history("history.csv")]
        [1, 2]
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
    """The rows of a history CSV (``HistoryCSV``'s, a run's ``history.csv``) as dicts.

    Args:
        path: The CSV file.

    Returns:
        A list of one dict per row, ``{"epoch": int, column: float, ...}`` (an empty cell left out);
        ``[]`` when there is no file.

    Examples:

        >>> write_history("history.csv", [{"epoch": 1, "loss": 3.2}, {"epoch": 2, "loss": 2.1, "val_bleu4": 0.5}])
        >>> read_history("history.csv")
        [{'epoch': 1, 'loss': 3.2}, {'epoch': 2, 'loss': 2.1, 'val_bleu4': 0.5}]
        >>> read_history("no_such_run/history.csv")
        []
    """
    import csv

    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: int(v) if k == "epoch" else float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def write_history(path, rows):
    """Write history rows as CSV, atomically; the columns are every key seen, ``epoch`` first.

    Args:
        path: The CSV file.
        rows: A list of dicts with an ``epoch`` (a row without some key has an empty cell there).

    Examples:

        >>> write_history("history.csv", [{"epoch": 1, "loss": 3.2}, {"epoch": 2, "loss": 2.1, "val_bleu4": 0.5}])
        >>> print(open("history.csv").read(), end="")
        epoch,loss,val_bleu4
        1,3.2,
        2,2.1,0.5
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
    """Backs up the weights, the optimizer and the epoch every epoch, and restores them when ``fit`` starts again.

    It is ``keras.callbacks.BackupAndRestore`` at epoch granularity, made safe against a kill at any
    moment. Keras' callback rewrites ``latest.weights.h5`` in place, so Ctrl-C during that write left a
    file that no longer loads ("13 objects could not be loaded") and the run could not resume. Here
    each epoch's weights go to a file of their own (``epoch_0003.weights.h5``); then
    ``training_metadata.json``, written atomically, names it (the backup counts from that moment);
    then the older file is removed. A backup written by ``BackupAndRestore`` (``latest.weights.h5``)
    is still restored.

    Args:
        backup_dir: The backup's folder (created at the end of the first epoch).

    Raises:
        ValueError: When ``fit`` starts and the backup cannot be restored (a broken or foreign file);
            the message says to delete the folder.

    Examples:

        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> x, y = np.ones((8, 2)), np.ones((8, 1))
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[Backup("backup")])
        >>> sorted(os.listdir("backup"))
        ['epoch_0002.weights.h5', 'training_metadata.json']
        >>> history = model.fit(x, y, epochs=3, verbose=0, callbacks=[Backup("backup")])  # run again: restored
        >>> history.epoch  # only the third epoch was left to train
        [2]
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
    """Makes the end of every batch and epoch a safe point at which a Ctrl-C or SIGTERM stops the run.

    A signal noted by ``showattend.signals`` (under ``handle_signals()`` and ``at_safe_points()``)
    stops ``fit``, ``evaluate`` or ``predict`` there, never inside TensorFlow. ``Captioner.fit`` and
    ``Captioner.evaluate`` add it themselves.

    Examples:

        >>> import signal
        >>> from showattend.signals import Terminated, at_safe_points, handle_signals
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> class Sigterm(keras.callbacks.Callback):  # a scheduler's SIGTERM as the second batch starts
        ...     def on_train_batch_begin(self, batch, logs=None):
        ...         if batch == 1:
        ...             signal.raise_signal(signal.SIGTERM)
        >>> with handle_signals():
        ...     try:
        ...         with at_safe_points():
        ...             model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=3, verbose=0,
        ...                       callbacks=[Sigterm(), StopWhenAsked()])
        ...     except Terminated:
        ...         print(f"stopped after {int(model.optimizer.iterations)} whole batches")
        stopped after 2 whole batches
    """

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
