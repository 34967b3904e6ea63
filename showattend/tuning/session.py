"""A whole search from a data spec (what `showattend tune` runs): data → vocabulary → hypermodel → tuner →
search → results.csv and search.png; and the same search opened again from its folder."""
import contextlib
import os

from showattend.files import read_json, writable_folder, write_json
from showattend.locks import FolderLock
from showattend.signals import at_safe_points
from showattend.tuning.hypermodel import CaptionHyperModel
from showattend.tuning.report import FIRST_COLUMNS, format_table, plot_results, results_table
from showattend.tuning.search import is_chief_or_alone, make_tuner

ARGUMENTS_FILE = "tune.json"  # the arguments of tune(): what --summary and --export open the search with


def tune(directory, data, images=None, backbones=("small_vgg",), decoders=("lstm",), algorithm="hyperband", max_epochs=10,
         max_trials=None, factor=3, objective="bleu4", project_name="search", overwrite=False, time_budget=None,
         image_size=None, batch_size=64, val_images=200, val_split=0.1, seed=0, mixed_precision=None,
         strategy=None, fixed=None, feature_dir=None, on_bad_image="error", verbose=1):
    """Search captioners for ``data`` (a ``showattend.datasets.load`` spec) into ``directory/project_name``.

    What `showattend tune` runs: the data, its vocabulary, a ``CaptionHyperModel``, ``make_tuner``
    and the search, then the results table (printed, and written to ``results.csv``) and
    ``search.png`` beside the trials. A rerun resumes. ``directory`` must be a folder this process
    can write to; one search at a time runs in a project: it holds ``directory/<project_name>.lock``
    (the chief does, in a search with worker processes, which share the folder on purpose), and a
    second is refused with the first one's process id.

    Args:
        directory: The folder of the search's project folder.
        data: A ``showattend.datasets.load`` spec: "shapes", "coco:captions.json", ….
        images: The folder the data's image paths are relative to (None for shapes).
        backbones: The backbone names to search over; the first is the first trial's.
        decoders: The decoders to search over (``showattend.decoders.list_decoders()``); the first
            is the first trial's.
        algorithm: "hyperband", "bayesian" or "random".
        max_epochs: The epochs of a full trial.
        max_trials: How many trials "bayesian" and "random" run (None: 10).
        factor: Hyperband's reduction factor.
        objective: "bleu4" or "cider", on the validation data.
        project_name: The project folder's name, in ``directory``.
        overwrite: Whether to delete a search already there and start anew.
        time_budget: How long the search may run: "2h", "45m", "90s" or seconds; None for no limit.
        image_size: The images' (height, width); by default the first backbone's input size.
        batch_size: Captions per training batch.
        val_images: How many validation images every epoch is scored on.
        val_split: The validation share of data without splits of its own.
        seed: The seed of the split, the oracle, the captioners and the validation subset.
        mixed_precision: None, "mixed_float16" or "mixed_bfloat16".
        strategy: None, or "mirrored" to run each trial across all visible GPUs.
        fixed: ``{name: value}`` of the hyperparameters to pin, e.g. ``{"units": 128}``; the others
            (``CaptionHyperModel.TUNABLE``) are tuned.
        feature_dir: The folder of the frozen backbones' feature caches; by default ``features`` in
            the project folder.
        on_bad_image: "error" or "skip", for an image that cannot be read.
        verbose: Keras' and keras-tuner's verbosity (0 for quiet).

    Returns:
        The ``SearchTuner``, searched.

    Examples:

        A real search trains for minutes to hours. Here a time budget that is spent before the first
        trial shows the call and what it writes, without training:

        >>> import os
        >>> tuner = tune("tuning", "shapes:5", algorithm="random", max_trials=4, max_epochs=2, image_size=(64, 64),
        ...              fixed={"units": 64}, time_budget=1e-6, verbose=0)
        The time budget is spent: no new trial starts.
        No trials yet.
        Wrote tuning/search/results.csv and tuning/search/search.png
        >>> sorted(os.listdir("tuning/search"))
        ['results.csv', 'search.png', 'showattend_search.json', 'tune.json']
    """
    arguments = dict(data=data, images=images, backbones=list(backbones), decoders=list(decoders), algorithm=algorithm,
                     max_epochs=max_epochs,
                     max_trials=max_trials, factor=factor, objective=objective, image_size=image_size,
                     batch_size=batch_size, val_images=val_images, val_split=val_split, seed=seed,
                     mixed_precision=mixed_precision, strategy=strategy, fixed=dict(fixed or {}),
                     feature_dir=feature_dir, on_bad_image=on_bad_image)
    writable_folder(directory, "--directory")
    with search_lock(directory, project_name):  # held before keras-tuner's overwrite deletes the project
        tuner, train, val = _open(directory, project_name, arguments, overwrite, time_budget, verbose)
        if is_chief_or_alone():
            write_json(os.path.join(tuner.project_dir, ARGUMENTS_FILE), arguments)
        with at_safe_points():  # Ctrl-C or SIGTERM stop at a trial's start, or at the end of one of its batches
            tuner.search(train, validation_data=val, verbose=verbose)
        if is_chief_or_alone():
            summarize(tuner)
    return tuner


def search_lock(directory, project_name="search"):
    """The lock that keeps the search ``directory/project_name`` to one process at a time.

    The lock file is ``directory/<project_name>.lock``, beside the project folder (which
    ``overwrite`` deletes). Only the chief or a lone process takes it; a worker, which shares the
    search on purpose, gets a context that does nothing. ``tune`` holds it while it searches; hold
    it around a ``tuner.search`` of your own the same way.

    Args:
        directory: The folder of the search's project folder; it must exist.
        project_name: The project folder's name, in ``directory``.

    Returns:
        A context manager (a ``showattend.locks.FolderLock``) that holds the lock in its block; it
        raises ``showattend.locks.LockedError`` on entering when another live process holds it.

    Examples:

        >>> import os
        >>> os.makedirs("searches")
        >>> with search_lock("searches", "search"):
        ...     print(os.listdir("searches"))  # tuner.search(train, validation_data=val) would run here
        ['search.lock']
        >>> os.listdir("searches")
        []
    """
    if not is_chief_or_alone():
        return contextlib.nullcontext()
    return FolderLock(os.path.join(os.fspath(directory), f"{project_name}.lock"), "search",
                      folder=os.path.join(os.fspath(directory), project_name))


def _open(directory, project_name, arguments, overwrite=False, time_budget=None, verbose=1):
    from showattend.datasets import load
    from showattend.training import text_defaults
    from showattend.text import Vocabulary

    a = arguments
    options = dict(images=a["images"], val_split=a["val_split"], seed=a["seed"], on_bad_image=a["on_bad_image"])
    train, val = load(a["data"], "train", **options), load(a["data"], "val", **options)
    min_count, max_length = text_defaults(a["data"])
    vocabulary = Vocabulary.build(train.all_captions(), min_count=min_count)
    fixed = dict(a["fixed"])
    unknown = sorted(set(fixed) - set(CaptionHyperModel.TUNABLE))
    if unknown:
        raise ValueError(f"Cannot fix {', '.join(unknown)}: the hyperparameters are {', '.join(CaptionHyperModel.TUNABLE)}.")
    hypermodel = CaptionHyperModel(vocabulary, backbones=a["backbones"], image_size=a["image_size"],
                                   decoders=a.get("decoders", ["lstm"]),  # a search from before decoders were parts
                                   objective=a["objective"], batch_size=a["batch_size"], max_length=max_length,
                                   val_images=a["val_images"], feature_dir=a["feature_dir"],
                                   mixed_precision=a["mixed_precision"], seed=a["seed"], **fixed)
    strategy = None
    if a["strategy"] == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
    elif a["strategy"] is not None:
        raise ValueError(f"Unknown strategy {a['strategy']!r}. Accepted: mirrored.")
    tuner = make_tuner(hypermodel, a["algorithm"], max_epochs=a["max_epochs"], max_trials=a["max_trials"],
                       factor=a["factor"], directory=directory, project_name=project_name, overwrite=overwrite,
                       time_budget=time_budget, seed=a["seed"], distribution_strategy=strategy, verbose=verbose)
    return tuner, train, val


def open_search(directory, project_name="search"):
    """The search that ``tune`` ran in ``directory/project_name``, opened with its own arguments.

    What `showattend tune --summary` and `--export` open: the data, vocabulary, hypermodel and
    tuner are made again from the arguments ``tune`` saved in the project folder (``tune.json``).

    Args:
        directory: The folder of the search's project folder.
        project_name: The project folder's name, in ``directory``.

    Returns:
        A tuple (tuner, train, val): the ``SearchTuner`` and the training and validation
        CaptionDatasets, e.g. for ``export_best(tuner, path, retrain=True, train=train,
        validation_data=val)``.

    Raises:
        FileNotFoundError: When ``tune`` ran no search there.

    Examples:

        >>> _ = tune("shapes_search", "shapes:5", algorithm="random", max_trials=4, image_size=(64, 64),
        ...          fixed={"units": 64}, time_budget=1e-6, verbose=0)  # a search that trains nothing
        The time budget is spent: ...
        >>> tuner, train, val = open_search("shapes_search")
        >>> len(train), len(val), tuner.oracle.objective.name, tuner.hypermodel.given["units"]
        (5, 1, 'val_bleu4', 64)
        >>> open_search("elsewhere")
        Traceback (most recent call last):
        ...
        FileNotFoundError: No search in elsewhere/search (no tune.json): ...
    """
    path = os.path.join(directory, project_name, ARGUMENTS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No search in {os.path.join(directory, project_name)} (no {ARGUMENTS_FILE}): run "
                                "`showattend tune … --directory` first, or name the folder it wrote.")
    return _open(directory, project_name, read_json(path), verbose=0)


def summarize(tuner):
    """Print the results table of a search and write results.csv and search.png in its folder.

    What `showattend tune --summary` prints.

    Args:
        tuner: A ``SearchTuner`` (``make_tuner``'s, or ``open_search``'s).

    Returns:
        The rows of ``results_table(tuner)``, best first.

    Examples:

        >>> import keras
        >>> import keras_tuner as kt
        >>> import numpy as np
        >>> from showattend.tuning import make_tuner
        >>> class Tiny(kt.HyperModel):  # the smallest hypermodel: one tuned layer width
        ...     def build(self, hp):
        ...         model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [2, 4])),
        ...                                   keras.layers.Dense(1, activation="sigmoid")])
        ...         model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        ...         return model
        >>> tuner = make_tuner(Tiny(), "random", max_trials=1, max_epochs=1, objective="val_accuracy",
        ...                    directory="tiny", verbose=0)
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> rows = summarize(tuner)
        trial  status     score  best_epoch  epochs  params  seconds_per_epoch  batch_size  units
        0      COMPLETED  1      1           1       9       ...                            2
        Wrote tiny/search/results.csv and tiny/search/search.png
        >>> len(rows), rows[0]["units"]
        (1, 2)
    """
    rows = results_table(tuner, os.path.join(tuner.project_dir, "results.csv"))
    columns = list(FIRST_COLUMNS) + [c for c in (rows[0] if rows else {}) if c not in FIRST_COLUMNS]
    print(format_table(rows, columns))
    plot = plot_results(tuner, os.path.join(tuner.project_dir, "search.png"), rows=rows)
    print(f"Wrote {os.path.join(tuner.project_dir, 'results.csv')} and {plot}")
    return rows
