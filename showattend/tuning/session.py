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


def tune(directory, data, images=None, backbones=("small_vgg",), algorithm="hyperband", max_epochs=10,
         max_trials=None, factor=3, objective="bleu4", project_name="search", overwrite=False, time_budget=None,
         image_size=None, batch_size=64, val_images=200, val_split=0.1, seed=0, mixed_precision=None,
         strategy=None, fixed=None, feature_dir=None, on_bad_image="error", verbose=1):
    """Search captioners for ``data`` (a ``showattend.datasets.load`` spec) into ``directory/project_name``.

    ``fixed`` pins hyperparameters by name ({"units": 128}); the others are tuned. Writes
    ``results.csv`` and ``search.png`` beside the trials; a rerun resumes. Returns the tuner.
    ``directory`` must be a folder this process can write to; one search at a time runs in a project:
    it holds ``directory/<project_name>.lock`` (the chief does, in a search with worker processes, which
    share the folder on purpose), and a second is refused with the first one's process id.

    >>> tuner = tune("tuning", "shapes", backbones=["small_vgg", "resnet20"], algorithm="random",
    ...              max_trials=4, max_epochs=2, fixed={"units": 64})  # doctest: +SKIP
    """
    arguments = dict(data=data, images=images, backbones=list(backbones), algorithm=algorithm, max_epochs=max_epochs,
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
    """The lock of the search ``directory/project_name``: ``directory/<project_name>.lock``, beside the project
    (``overwrite`` deletes the project's folder). Only the chief or a lone process takes it; a worker, which
    shares the search on purpose, gets a context that does nothing.

    >>> with search_lock("tuning", "search"):  # doctest: +SKIP
    ...     tuner.search(train, validation_data=val)
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
    """The search that ``tune`` ran in ``directory/project_name``, opened with its own arguments; returns
    (tuner, train, val)."""
    path = os.path.join(directory, project_name, ARGUMENTS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No search in {os.path.join(directory, project_name)} (no {ARGUMENTS_FILE}): run "
                                "`showattend tune … --directory` first, or name the folder it wrote.")
    return _open(directory, project_name, read_json(path), verbose=0)


def summarize(tuner):
    """Print the results table and write results.csv and search.png in the search's folder."""
    rows = results_table(tuner, os.path.join(tuner.project_dir, "results.csv"))
    columns = list(FIRST_COLUMNS) + [c for c in (rows[0] if rows else {}) if c not in FIRST_COLUMNS]
    print(format_table(rows, columns))
    plot = plot_results(tuner, os.path.join(tuner.project_dir, "search.png"), rows=rows)
    print(f"Wrote {os.path.join(tuner.project_dir, 'results.csv')} and {plot}")
    return rows
