"""A training run's folder as one concept: its files named once, what a rerun reads to resume, and
the data split it was trained on.

``fit_best``, ``train`` and the demo write ``model.keras``, ``kept_epoch.json``, ``history.csv``,
``backup/``, ``config.json`` and ``curves.png`` into it (``train`` also ``vocabulary.json`` and
``features/``, the demo ``metrics.json`` and ``captions.json``); ``RunFolder`` names them and
reads them back.
"""
import json
import os

from showattend.callbacks import read_history
from showattend.files import read_json, write_json  # noqa: F401 (write_json: the examples)

__all__ = ["RunFolder", "kept_epoch"]


class RunFolder:
    """A training run's folder: where each of its files is, and what it holds.

    Args:
        path: the folder (it need not exist yet).

    Examples:
        >>> run = RunFolder("runs/mine")
        >>> run.model, run.history, run.kept
        ('runs/mine/model.keras', 'runs/mine/history.csv', 'runs/mine/kept_epoch.json')
        >>> run.kept_epoch(), run.backed_up_epochs(), run.started()  # nothing trained yet
        ({}, 0, False)
    """

    MODEL, CONFIG, HISTORY, CURVES = "model.keras", "config.json", "history.csv", "curves.png"
    KEPT, BACKUP, VOCABULARY, FEATURES = "kept_epoch.json", "backup", "vocabulary.json", "features"
    METRICS, CAPTIONS, LOCK = "metrics.json", "captions.json", "training.lock"

    def __init__(self, path):
        self.path = os.fspath(path)

    def __fspath__(self):
        return self.path

    def file(self, name):
        """The path of a file in the folder.

        Args:
            name: the file's name, e.g. ``RunFolder.MODEL``.

        Returns:
            The path, a string.
        """
        return os.path.join(self.path, name)

    model = property(lambda self: self.file(self.MODEL), doc="``model.keras``: the kept epoch's model.")
    config = property(lambda self: self.file(self.CONFIG), doc="``config.json``: the run's settings.")
    history = property(lambda self: self.file(self.HISTORY), doc="``history.csv``: one row per epoch.")
    curves = property(lambda self: self.file(self.CURVES), doc="``curves.png``: the losses and BLEU-4.")
    kept = property(lambda self: self.file(self.KEPT), doc="``kept_epoch.json``: the epoch in ``model.keras``.")
    backup = property(lambda self: self.file(self.BACKUP), doc="``backup/``: the last finished epoch's state.")
    vocabulary = property(lambda self: self.file(self.VOCABULARY), doc="``vocabulary.json`` (``train``'s).")
    features = property(lambda self: self.file(self.FEATURES), doc="``features/``: ``train``'s feature cache.")
    metrics = property(lambda self: self.file(self.METRICS), doc="``metrics.json`` (the demo's test metrics).")
    captions = property(lambda self: self.file(self.CAPTIONS), doc="``captions.json`` (the demo's captions).")
    lock = property(lambda self: self.file(self.LOCK), doc="``training.lock``: one run at a time.")

    def kept_epoch(self):
        """The epoch kept in ``model.keras`` and its validation scores.

        Returns:
            A dict such as ``{"epoch": 5, "val_bleu4": 0.99, ...}``; ``{}`` before the first epoch.
        """
        return read_json_file(self.kept) if os.path.isfile(self.kept) else {}

    def backed_up_epochs(self):
        """How many epochs ``backup/`` holds (``showattend.callbacks.Backup``'s metadata).

        Returns:
            The number of finished epochs, 0 before the first.
        """
        path = os.path.join(self.backup, "training_metadata.json")
        return int(read_json_file(path).get("epoch", 0)) if os.path.isfile(path) else 0

    def started(self):
        """Whether the run has finished an epoch.

        Returns:
            True when a backup or a history exists.
        """
        return os.path.isdir(self.backup) or os.path.isfile(self.history)

    def read_config(self):
        """The run's settings.

        Returns:
            The dict in ``config.json``; ``{}`` where the run has none.

        Raises:
            ValueError: a ``config.json`` that was not written whole (naming it).
        """
        return read_json_file(self.config) if os.path.isfile(self.config) else {}

    def read_history(self):
        """The rows of ``history.csv``.

        Returns:
            One dict per epoch (``showattend.callbacks.read_history``); ``[]`` before the first.
        """
        return read_history(self.history)

    def plot_curves(self):
        """Draw ``curves.png`` from the history and the kept epoch (``showattend.visualize.plot_curves``).

        Returns:
            The path of ``curves.png``.
        """
        from showattend.visualize import plot_curves

        return plot_curves(self.read_history(), self.curves, self.kept_epoch())

    def resume_note(self, epochs=None):
        """The line a rerun prints first: how far the run got.

        Args:
            epochs: the epochs the rerun trains in all (None: not said).

        Returns:
            The line, or None for a run that has not finished an epoch.

        Examples:
            >>> os.makedirs("runs/demo/backup")  # as a run leaves it after 2 epochs
            >>> _ = write_json("runs/demo/backup/training_metadata.json", {"epoch": 2})
            >>> _ = write_json("runs/demo/kept_epoch.json", {"epoch": 2})
            >>> RunFolder("runs/demo").resume_note(epochs=6)
            'Resuming runs/demo: 2 epochs done (model.keras holds epoch 2); training goes on from epoch 3 of 6.'
        """
        done = self.backed_up_epochs()
        if not done:
            return None
        kept = self.kept_epoch().get("epoch")
        held = f" (model.keras holds epoch {kept})" if kept else ""
        if epochs is not None and done >= epochs:
            epochs_done = f"all {done} epochs" if done > 1 else "1 epoch"
            return f"Resuming {self.path}: {epochs_done} done{held}; nothing left to train."
        goes_on = f"training goes on from epoch {done + 1}" + (f" of {epochs}" if epochs else "")
        return f"Resuming {self.path}: {done} epoch{'s' if done > 1 else ''} done{held}; {goes_on}."

    def check_same_run(self, settings, complete=None):
        """Refuse to resume the run with other ``settings`` than its ``config.json`` holds.

        ``RESUMABLE`` settings may change; the error lists what else changed. A run that never
        finished an epoch binds nothing: its settings may change. ``complete`` maps a setting to a
        function that brings its old value to today's form (an older version saved fewer of the
        decoder's options).

        Args:
            settings: the settings of the run about to start (as ``config.json`` will hold them).
            complete: ``{setting: function}`` applied to the old value before comparing, or None.

        Raises:
            ValueError: the run was started with other settings (naming each that changed).

        Examples:
            >>> os.makedirs("runs/old/backup")  # a run that finished an epoch
            >>> _ = write_json("runs/old/config.json", {"data": "shapes", "epochs": 10})
            >>> RunFolder("runs/old").check_same_run({"data": "shapes:100", "epochs": 20})
            Traceback (most recent call last):
            ValueError: runs/old holds a run with other settings (data: 'shapes' before, 'shapes:100' now). Rerun ...
        """
        if not os.path.isfile(self.config) or not self.started():
            return
        old = self.read_config()
        for key, completed in (complete or {}).items():
            if isinstance(old.get(key), dict):
                old[key] = completed(old[key])
        old, settings = json.loads(json.dumps(old)), json.loads(json.dumps(settings))  # tuples as lists, as read back
        changed = [f"{k}: {old.get(k)!r} before, {settings.get(k)!r} now" for k in sorted(set(old) | set(settings))
                   if k not in RESUMABLE and old.get(k) != settings.get(k)]
        if changed:
            raise ValueError(f"{self.path} holds a run with other settings ({'; '.join(changed)}). Rerun with the "
                             "same settings to resume it, or choose another output folder.")

    def dataset(self, data, split, images=None, val_split=None, seed=None, on_bad_image="error"):
        """A split of ``data``, held out as the run held it out when ``data`` is the run's.

        For data without splits of its own (a folder, a COCO captions file), ``train`` holds out a
        share of the images for validation with its seed; this draws the same split from the
        run's ``config.json``, unless ``val_split`` or ``seed`` is given.

        Args:
            data: a data spec (``showattend.datasets.load``'s).
            split: "train", "val", "test" or "all".
            images: the folder the data's image paths are relative to.
            val_split: the share held out (default: the run's, else 0.1).
            seed: the seed of the draw (default: the run's, else 0).
            on_bad_image: "error" or "skip", for unreadable image files.

        Returns:
            The ``CaptionDataset``.
        """
        from showattend.datasets import load

        run = self.read_config()
        same = run.get("data") == data
        seed = seed if seed is not None else run.get("seed", 0) if same else 0
        val_split = val_split if val_split is not None else run.get("val_split", 0.1) if same else 0.1
        return load(data, split, images=images, val_split=val_split, seed=seed, on_bad_image=on_bad_image)

    def trained_on(self, data):
        """Whether the run was trained on ``data``.

        Args:
            data: a data spec.

        Returns:
            True when the run's ``config.json`` names that spec.
        """
        return self.read_config().get("data") == data


def kept_epoch(out):
    """The epoch kept in ``out/model.keras`` and its validation scores, from ``out/kept_epoch.json``.

    Args:
        out: A run's folder (``train``'s or ``fit_best``'s).

    Returns:
        A dict such as ``{"epoch": 5, "val_bleu4": 0.99, "val_cider": 4.9, ...}``; ``{}`` before the first.

    Examples:

        >>> kept_epoch(".")  # nothing kept yet
        {}
        >>> _ = write_json("kept_epoch.json", {"epoch": 3, "val_bleu4": 0.42})  # as fit_best writes it
        >>> kept_epoch(".")
        {'epoch': 3, 'val_bleu4': 0.42}
    """
    return RunFolder(out).kept_epoch()


RESUMABLE = ("epochs", "verbose", "tensorboard", "on_bad_image")  # settings a rerun may change and still resume


def read_json_file(path):
    """A run's JSON file; a broken file is a ValueError that names it."""
    return read_json(path, "it was not written whole; delete it (and the run's folder, if it is a run's) to "
                           "start anew")


def text_defaults(data):
    """(min_count, max_length) for a data spec: (1, 30) for shapes, the field's (5, 20) for real data.

    Shapes keep every word and every caption whole; real data keeps words seen 5 times and cuts
    captions at 20 words.
    """
    return (1, 30) if data.split(":")[0] == "shapes" else (5, 20)
