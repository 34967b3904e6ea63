"""Tuners for showattend's hypermodels: the algorithm, the known-good first trial, the time budget, per-epoch
histories kept per trial, and a resume that refuses a changed space or changed data.

What a search saves is written whole or not at all (a partial file, then a rename): the oracle's
``oracle.json``, each ``trial_*/trial.json``, the tuner's ``tuner0.json``, each trial's best-epoch
``checkpoint.weights.h5`` and ``history.json``. A full disk stops the search (keras-tuner would fail
every later trial too) with a message naming the file; a rerun goes on from the saved trials.
"""
import contextlib
import hashlib
import io
import json
import os
import time
import warnings

import keras_tuner as kt
import numpy as np

from showattend.data.images import BadImageError
from showattend.files import DiskFullError, atomic_write, read_json, write_json, write_text
from showattend.signals import stop_if_asked
from showattend.tuning.guards import parse_duration

ALGORITHMS = ("hyperband", "bayesian", "random")
SEARCH_FILE = "showattend_search.json"  # the settings, space and data a resumed search must share
HISTORY_FILE = "history.json"  # per trial: one row per epoch (keras-tuner keeps only the best epoch)

__all__ = ["ALGORITHMS", "HISTORY_FILE", "SEARCH_FILE", "DataError", "SearchDiskFullError", "SearchTuner",
           "make_tuner"]


class SearchDiskFullError(DiskFullError, kt.errors.FatalError):
    """The disk filled up while the search saved a file, so the search stops.

    Every later trial would fail the same way, and keras-tuner goes on to the next trial after any
    error that is not its ``FatalError``: this one is both a ``showattend.files.DiskFullError`` and
    a keras-tuner ``FatalError``. A rerun goes on from the saved trials.

    Args:
        error: The ``DiskFullError`` raised while the file was written; its errno, message and file
            name are kept.

    Examples:

        >>> import errno
        >>> import keras_tuner as kt
        >>> from showattend.files import DiskFullError
        >>> full = DiskFullError("tuning/search/oracle.json", OSError(errno.ENOSPC, "No space left on device"))
        >>> error = SearchDiskFullError(full)
        >>> isinstance(error, kt.errors.FatalError), error.errno == errno.ENOSPC, error.filename
        (True, True, 'tuning/search/oracle.json')
        >>> print(error)
        The disk is full: could not write 'tuning/search/oracle.json' (No space left on device); nothing partial
        is left behind. ...
    """

    def __init__(self, error):
        OSError.__init__(self, error.errno, error.message, error.filename)
        self.message = error.message


@contextlib.contextmanager
def _stopping_when_full():
    try:
        yield
    except SearchDiskFullError:
        raise
    except DiskFullError as error:
        raise SearchDiskFullError(error) from None


def _save_state(path, state):
    """keras-tuner's ``Stateful.save``, written whole (keras-tuner truncates the file, then writes it)."""
    with _stopping_when_full():
        write_text(path, json.dumps(state))


class _FirstTrialDefaultsAndBudget:
    """Oracle behaviour: the first trial takes every hyperparameter's default (a baseline for every
    search), no trial starts after ``deadline``, and its files are written whole."""

    deadline = None

    def save(self):
        _save_state(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        _save_state(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state())

    def populate_space(self, trial_id):
        if self.deadline is not None and time.time() >= self.deadline:
            print("The time budget is spent: no new trial starts.")
            return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}
        return super().populate_space(trial_id)

    def _random_values(self):
        if self._tried_so_far:
            return super()._random_values()
        values = kt.HyperParameters()
        for hp in self.hyperparameters.space:
            values.merge([hp])
            if values.is_active(hp):
                values.values[hp.name] = hp.default
        return values.values


def _oracle(algorithm, objective, max_epochs, max_trials, factor, seed, max_consecutive_failed_trials):
    common = dict(objective=objective, seed=seed, max_consecutive_failed_trials=max_consecutive_failed_trials)
    if algorithm == "hyperband":
        base, arguments = kt.oracles.HyperbandOracle, dict(max_epochs=max_epochs, factor=factor)
    elif algorithm == "bayesian":
        base, arguments = kt.oracles.BayesianOptimizationOracle, dict(max_trials=max_trials or 10)
    elif algorithm == "random":
        base, arguments = kt.oracles.RandomSearchOracle, dict(max_trials=max_trials or 10)
    else:
        raise ValueError(f"Unknown algorithm {algorithm!r}. Accepted: {', '.join(ALGORITHMS)}.")
    oracle_class = type(f"Showattend{base.__name__}", (_FirstTrialDefaultsAndBudget, base), {})
    return oracle_class(**common, **arguments)


class DataError(kt.errors.FatalValueError):
    """An image that cannot be read, so the whole search stops.

    Every trial would fail on it, and keras-tuner goes on to the next trial after any error that is
    not its ``FatalError``. ``SearchTuner`` raises it, with the reader's message, for a
    ``BadImageError`` or a ``FileNotFoundError`` in a trial.

    Examples:

        >>> import keras_tuner as kt
        >>> issubclass(DataError, kt.errors.FatalError), issubclass(DataError, ValueError)
        (True, True)
    """


class SearchTuner(kt.Tuner):
    """keras-tuner's Tuner for showattend's hypermodels (captioners and backbone classifiers).

    Construction declares the space without building a model. Hyperband's rounds go on from the
    trial they promote; every epoch of every trial is kept in ``trial_<id>/history.json`` (seconds,
    parameters, batch size and the epoch's logs), and ``search`` refuses data other than the data
    the search began with. ``search``'s ``epochs`` defaults to ``max_epochs``. ``make_tuner`` builds
    one with the oracle of an algorithm.

    Args:
        oracle: The keras-tuner oracle (``make_tuner``'s: the first trial takes every default, and
            the time budget stops new trials).
        hypermodel: A ``keras_tuner.HyperModel``: a CaptionHyperModel, a cnn_backbones
            BackboneHyperModel or one of the user's.
        max_epochs: The epochs of a trial when ``search`` is not told.
        settings: What a resumed search must share with this one (``make_tuner`` writes them).
        **kwargs: keras-tuner's ``Tuner`` arguments: ``directory``, ``project_name``, ``overwrite``,
            ``distribution_strategy``, ….

    Examples:

        >>> import keras
        >>> import keras_tuner as kt
        >>> import numpy as np
        >>> class Tiny(kt.HyperModel):  # the smallest hypermodel: one tuned layer width
        ...     def build(self, hp):
        ...         model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [2, 4])),
        ...                                   keras.layers.Dense(1, activation="sigmoid")])
        ...         model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        ...         return model
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner = make_tuner(Tiny(), "random", max_trials=1, max_epochs=2, objective="val_accuracy",
        ...                    project_name="two_epochs", verbose=0)
        >>> isinstance(tuner, SearchTuner)
        True
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)  # epochs: max_epochs
        >>> import json, os
        >>> rows = json.load(open(os.path.join(tuner.get_trial_dir("0"), HISTORY_FILE)))
        >>> [(row["epoch"], row["params"], row["val_accuracy"]) for row in rows]
        [(1, 9, 1.0), (2, 9, 1.0)]
    """

    def __init__(self, oracle, hypermodel, max_epochs, settings, **kwargs):
        self.max_epochs, self.settings = max_epochs, settings
        super().__init__(oracle, hypermodel, **kwargs)
        self._epoch_started = None

    def _populate_initial_space(self):
        if type(self.hypermodel).declare_hyperparameters is kt.HyperModel.declare_hyperparameters:
            return super()._populate_initial_space()
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def search(self, *fit_args, **fit_kwargs):
        """keras-tuner's search, after checking that a resumed search trains on the same data;
        ``epochs`` defaults to ``max_epochs`` (Hyperband sets each round's own)."""
        fit_kwargs.setdefault("epochs", self.max_epochs)
        if is_chief_or_alone():
            record = {**self.settings, "data": data_fingerprint(fit_args, fit_kwargs)}
            check_unchanged(self.project_dir, record, data_only=True)
            write_json(os.path.join(self.project_dir, SEARCH_FILE), record)
        return super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        stop_if_asked()  # a Ctrl-C between two trials (which Python may have dropped) stops here
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:  # a Hyperband round: train from initial_epoch to its epochs
            fit_kwargs["epochs"], fit_kwargs["initial_epoch"] = values["tuner/epochs"], values["tuner/initial_epoch"]
        self.hypermodel.project_dir = self.project_dir
        self.hypermodel.deadline = self.oracle.deadline if hasattr(self.oracle, "deadline") else None
        try:
            with _stopping_when_full():
                return super().run_trial(trial, *fit_args, **fit_kwargs)
        except (BadImageError, FileNotFoundError) as error:
            message = str(error)
        # raised outside the except block, so that the failed fit's frames are not kept as its context
        raise DataError(message)

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        _save_state(self._get_tuner_fname(), self.get_state())

    def _build_and_fit_model(self, trial, *args, **kwargs):
        from keras_tuner.src.engine.tuner_utils import SaveBestEpoch

        for callback in kwargs.get("callbacks", []):
            if isinstance(callback, SaveBestEpoch):  # its best epoch's weights, written whole
                callback._save_model = lambda c=callback: atomic_write(c.filepath, c.model.save_weights)
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def _build_hypermodel(self, hp):
        model = super()._build_hypermodel(hp)
        if "tuner/trial_id" in hp.values:  # Hyperband promotes a trial: start from its best epoch
            with without_optimizer_state():
                model.load_weights(self._get_checkpoint_fname(hp.values["tuner/trial_id"]))
        return model

    def load_model(self, trial):
        # keras-tuner's (the trial's best epoch's weights), without Keras' warning that the checkpoint's
        # optimizer state is skipped: the model built for it has a fresh optimizer of its own
        with without_optimizer_state():
            return super().load_model(trial)

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        self._epoch_started = time.time()

    def on_epoch_end(self, trial, model, epoch, logs=None):
        rows = [r for r in self._history(trial) if r["epoch"] <= epoch]  # a rerun trial rewrites its epochs
        logs = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        rows.append({"epoch": epoch + 1, "seconds": time.time() - (self._epoch_started or time.time()),
                     "params": int(model.count_params()), "batch_size": getattr(self.hypermodel, "batch_size_used", None),
                     "worker": self.tuner_id, **logs})
        write_json(os.path.join(self.get_trial_dir(trial.trial_id), HISTORY_FILE), rows)

    def _history(self, trial):
        path = os.path.join(self.get_trial_dir(trial.trial_id), HISTORY_FILE)
        if os.path.isfile(path):
            return read_json(path)
        parent = trial.hyperparameters.values.get("tuner/trial_id")
        if parent:  # a Hyperband round's curve begins with the epochs of the trial it goes on from
            initial = trial.hyperparameters.values.get("tuner/initial_epoch", 0)
            path = os.path.join(self.get_trial_dir(parent), HISTORY_FILE)
            return [r for r in read_json(path) if r["epoch"] <= initial] if os.path.isfile(path) else []
        return []


@contextlib.contextmanager
def without_optimizer_state():
    """Load a trial's checkpoint without Keras' warning that its optimizer state is skipped: the model
    loading it is trained (or saved) with an optimizer of its own."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        yield


def is_chief_or_alone():
    """True in a search without workers, and in a distributed search's chief."""
    return os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief" or "KERASTUNER_ORACLE_IP" not in os.environ


def data_fingerprint(fit_args, fit_kwargs):
    """A short description and hash of the training and validation data given to ``search``."""
    parts = []
    for value in (*fit_args, *fit_kwargs.values()):
        if hasattr(value, "captions") and hasattr(value, "images"):  # a CaptionDataset
            images = value.images
            digest = hashlib.sha256()
            digest.update(images.tobytes() if isinstance(images, np.ndarray) else "\n".join(map(str, images)).encode())
            digest.update(json.dumps(value.captions).encode())
            parts.append(f"{len(value)} images, {digest.hexdigest()[:16]}")
        elif isinstance(value, np.ndarray):
            parts.append(f"array {value.shape} {hashlib.sha256(value.tobytes()).hexdigest()[:16]}")
        elif isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
            parts.append(data_fingerprint(value, {}))
    return "; ".join(parts)


def _space(hypermodel):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return {h.name: h.get_config() for h in hp.space}


def _differences(old, new):
    said = []
    for key in sorted(set(old) | set(new)):
        if key == "space":
            space_old, space_new = old.get(key, {}), new.get(key, {})
            said += [f"{n} was added to the space" for n in space_new if n not in space_old]
            said += [f"{n} was removed from the space" for n in space_old if n not in space_new]
            said += [f"{n} changed from {space_old[n]} to {space_new[n]}" for n in space_new
                     if n in space_old and space_old[n] != space_new[n]]
        elif isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            said += _differences(old[key], new[key])
        elif old.get(key) != new.get(key):
            said.append(f"{key} changed from {old.get(key)!r} to {new.get(key)!r}")
    return said


def check_unchanged(project_dir, record, data_only=False):
    """Refuse to resume the search in ``project_dir`` with other settings, space or data (keras-tuner
    would silently keep the old space and mix the trials)."""
    path = os.path.join(project_dir, SEARCH_FILE)
    if not os.path.isfile(path):
        return
    old = read_json(path, "delete the search's folder, or pass overwrite=True (--overwrite), to start anew")
    if data_only:
        old, record = {"data": old.get("data")}, {"data": record.get("data")}
    else:
        old = {k: v for k, v in old.items() if k != "data"}
    changed = _differences(old, record)
    if changed:
        raise ValueError(f"The search in {project_dir} was started with other settings, so it cannot resume: "
                         f"{'; '.join(changed)}. Rerun with the same settings to resume it, or start anew with "
                         "overwrite=True (showattend tune --overwrite) or another directory or project name.")


def make_tuner(hypermodel, algorithm="hyperband", max_epochs=10, max_trials=None, factor=3, objective=None,
               directory="tuning", project_name="search", overwrite=False, time_budget=None, seed=0,
               distribution_strategy=None, max_consecutive_failed_trials=10, verbose=1):
    """A keras-tuner tuner for ``hypermodel`` (a CaptionHyperModel or a cnn_backbones BackboneHyperModel).

    ``algorithm``: "hyperband" (``max_epochs`` and ``factor`` set the budget; ``max_trials`` is
    unused), "bayesian" or "random" (``max_trials`` trials of ``max_epochs`` epochs). The objective
    is the hypermodel's (val_bleu4 for captioners), always maximised. The first trial takes every
    default. ``time_budget`` ("2h", "45m", seconds) lets no trial start after it and stops the trial
    in flight at the end of its epoch. Rerunning with the same arguments resumes the search in
    ``directory/project_name``: finished trials are kept and the trial in flight reruns; a rerun with
    another space, settings or data is refused (``overwrite=True`` starts anew).

    Args:
        hypermodel: The ``keras_tuner.HyperModel`` to search.
        algorithm: "hyperband", "bayesian" or "random".
        max_epochs: The epochs of a trial (Hyperband's most).
        max_trials: How many trials "bayesian" and "random" run (None: 10).
        factor: Hyperband's reduction factor, at least 2.
        objective: The score to maximise, a name or a ``keras_tuner.Objective``; by default the
            hypermodel's ``objective``.
        directory: The folder of the search's project folder.
        project_name: The project folder's name, in ``directory``.
        overwrite: Whether to delete a search already there and start anew.
        time_budget: How long the search may run: "2h", "45m", "90s" or seconds; None for no limit.
        seed: The oracle's seed.
        distribution_strategy: A ``tf.distribute`` strategy every trial trains under, or None.
        max_consecutive_failed_trials: How many failed trials in a row end the search.
        verbose: Whether to print the resume summary and keras-tuner's progress (0 or 1).

    Returns:
        A ``SearchTuner``; its ``search(train, validation_data=val)`` runs the search.

    Raises:
        ValueError: When ``algorithm`` is unknown, there is no objective, ``max_epochs`` is not a
            positive integer, Hyperband's ``factor`` is below 2, ``time_budget`` cannot be read, or
            the search there was started with other settings or another space.

    Examples:

        >>> import keras
        >>> import keras_tuner as kt
        >>> import numpy as np
        >>> class Tiny(kt.HyperModel):  # the smallest hypermodel: one tuned layer width
        ...     def build(self, hp):
        ...         model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [2, 4])),
        ...                                   keras.layers.Dense(1, activation="sigmoid")])
        ...         model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        ...         return model
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner = make_tuner(Tiny(), "random", max_trials=1, max_epochs=1, objective="val_accuracy", verbose=0)
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> best = tuner.oracle.get_best_trials(1)[0]
        >>> best.hyperparameters.values, float(best.score)  # the first trial takes every default
        ({'units': 2}, 1.0)
        >>> tuner = make_tuner(Tiny(), "random", max_trials=1, max_epochs=1, objective="val_accuracy")
        Resuming the search in tuning/search: 1 finished trial kept, 0 unfinished trials to rerun from the start, 0 failed.
        >>> make_tuner(Tiny(), "random", max_trials=1, max_epochs=3, objective="val_accuracy")
        Traceback (most recent call last):
        ...
        ValueError: The search in tuning/search was started with other settings, so it cannot resume: max_epochs
        changed from 1 to 3. ...
    """
    objective = objective or getattr(hypermodel, "objective", None)
    if objective is None:
        raise ValueError("Give an objective, e.g. keras_tuner.Objective('val_accuracy', 'max').")
    if isinstance(objective, str):
        objective = kt.Objective(objective, "max")
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs must be a positive integer, got {max_epochs!r}.")
    if algorithm == "hyperband" and factor < 2:
        raise ValueError(f"Hyperband's factor must be at least 2, got {factor!r}.")
    budget = parse_duration(time_budget)
    oracle = _oracle(algorithm, objective, max_epochs, max_trials, factor, seed, max_consecutive_failed_trials)
    settings = {"algorithm": algorithm, "max_epochs": max_epochs, "max_trials": max_trials,
                "factor": factor if algorithm == "hyperband" else None, "objective": objective.name, "seed": seed,
                "hypermodel": hypermodel.settings() if hasattr(hypermodel, "settings") else type(hypermodel).__name__,
                "space": _space(hypermodel)}
    project_dir = os.path.join(directory, project_name)
    resuming = not overwrite and os.path.isfile(os.path.join(project_dir, "oracle.json"))
    if resuming and is_chief_or_alone():
        check_unchanged(project_dir, settings)
    quiet = contextlib.redirect_stdout(io.StringIO()) if resuming else contextlib.nullcontext()
    with quiet:  # keras-tuner's "Reloading Tuner from …": resume_summary, below, says more and says it first
        tuner = SearchTuner(oracle, hypermodel, max_epochs, settings, directory=directory, project_name=project_name,
                            overwrite=overwrite, distribution_strategy=distribution_strategy)
    tuner.oracle.verbose = verbose
    if budget is not None:
        oracle.deadline = time.time() + budget
    if resuming and is_chief_or_alone() and verbose:
        print(resume_summary(tuner))
    return tuner


def resume_summary(tuner):
    """What a resumed search keeps and reruns, in one line."""
    statuses = [t.status for t in tuner.oracle.trials.values()]
    finished = statuses.count("COMPLETED")
    failed = sum(s in ("FAILED", "INVALID") for s in statuses)
    rerun = len(tuner.oracle._retry_queue)
    return (f"Resuming the search in {tuner.project_dir}: {finished} finished trial{'s' * (finished != 1)} kept, "
            f"{rerun} unfinished trial{'s' * (rerun != 1)} to rerun from the start, {failed} failed.")
