"""A search's results: one row per trial, a figure, and the best model exported."""
import csv
import io
import os

import numpy as np

from showattend.files import atomic_write, read_json, write_text
from showattend.tuning.search import HISTORY_FILE, without_optimizer_state

__all__ = ["FIRST_COLUMNS", "best_epoch", "export_best", "format_table", "plot_results", "results_table",
           "trial_history"]

FIRST_COLUMNS = ("trial", "status", "score", "best_epoch", "epochs", "params", "seconds_per_epoch", "batch_size")


def trial_history(tuner, trial_id):
    """The per-epoch rows a ``SearchTuner`` kept for one trial.

    keras-tuner keeps only a trial's best epoch; ``SearchTuner`` writes every epoch to the trial's
    ``history.json``.

    Args:
        tuner: A ``SearchTuner`` (``make_tuner``'s).
        trial_id: The trial's id, e.g. "0".

    Returns:
        A list of dicts, one per epoch: ``epoch`` (1-based), ``seconds``, ``params``, ``batch_size``,
        ``worker`` and the epoch's logs (``loss``, ``val_bleu4``, …); [] if the trial never
        finished an epoch.

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
        >>> tuner = make_tuner(Tiny(), "random", max_trials=1, max_epochs=2, objective="val_accuracy",
        ...                    project_name="history", verbose=0)
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> rows = trial_history(tuner, "0")
        >>> [row["epoch"] for row in rows], sorted(rows[0])
        ([1, 2], ['accuracy', 'batch_size', 'epoch', 'loss', 'params', 'seconds', 'val_accuracy', 'val_loss', 'worker'])
        >>> trial_history(tuner, "7")
        []
    """
    path = os.path.join(tuner.get_trial_dir(trial_id), HISTORY_FILE)
    return read_json(path) if os.path.isfile(path) else []


def best_epoch(trial):
    """The 1-based epoch of ``trial``'s best score, counted from the start of training.

    keras-tuner's ``best_step`` counts from the first epoch this trial ran, which for a Hyperband
    promotion is the epoch it went on from (``tuner/initial_epoch``).

    Args:
        trial: A keras-tuner ``Trial``.

    Returns:
        The epoch as an int, or None when the trial's ``best_step`` is None.

    Examples:

        >>> import keras_tuner as kt
        >>> hp = kt.HyperParameters()
        >>> trial = kt.engine.trial.Trial(hp, trial_id="0")
        >>> trial.best_step = 2  # its third epoch
        >>> best_epoch(trial)
        3
        >>> hp.Fixed("tuner/initial_epoch", 4)  # a Hyperband round that went on from epoch 4
        4
        >>> best_epoch(trial)
        7
    """
    if trial.best_step is None:
        return None
    return int(trial.hyperparameters.values.get("tuner/initial_epoch", 0)) + int(trial.best_step) + 1


def results_table(tuner, csv_path=None):
    """One row per trial of a search, best first, written to a CSV file too when asked.

    Args:
        tuner: A ``SearchTuner`` (``make_tuner``'s).
        csv_path: A CSV file to write the rows to, or None.

    Returns:
        A list of dicts, one per trial, best score first: ``FIRST_COLUMNS`` (trial, status, score,
        best epoch, epochs run, parameter count, mean seconds per epoch, the batch size that ran),
        then every hyperparameter (keras-tuner's bookkeeping ``tuner/…`` left out).

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
        ...                    project_name="table", verbose=0)
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> rows = results_table(tuner, "results.csv")
        >>> [(row["trial"], row["status"], row["score"], row["best_epoch"], row["params"], row["units"]) for row in rows]
        [('0', 'COMPLETED', 1.0, 1, 9, 2)]
        >>> open("results.csv").readline().strip()
        'trial,status,score,best_epoch,epochs,params,seconds_per_epoch,batch_size,units'
    """
    rows, names = [], []
    for trial in tuner.oracle.trials.values():
        history = trial_history(tuner, trial.trial_id)
        values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
        names += [n for n in values if n not in names]
        rows.append({"trial": trial.trial_id, "status": trial.status,
                     "score": None if trial.score is None else float(trial.score),
                     "best_epoch": best_epoch(trial) if history else None,  # keras-tuner starts best_step at 0
                     "params": history[-1]["params"] if history else None,
                     "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])) if history else None,
                     "batch_size": history[-1].get("batch_size") if history else None,
                     "epochs": len(history), **values})
    sign = 1.0 if tuner.oracle.objective.direction == "min" else -1.0  # best first, whichever way is better
    rows.sort(key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0), r["trial"]))
    for row in rows:
        for name in names:
            row.setdefault(name, None)
    if csv_path:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=[*FIRST_COLUMNS, *names])
        writer.writeheader()
        writer.writerows(rows)
        write_text(csv_path, text.getvalue())
    return rows


def format_table(rows, columns=None):
    """``rows`` as an aligned text table, floats to 4 significant digits.

    Args:
        rows: A list of dicts, as ``results_table`` returns.
        columns: The keys to show, in order; by default the first row's.

    Returns:
        The table as a string, one line per row under a header line ("No trials yet." for no rows).

    Examples:

        >>> rows = [{"trial": "1", "score": 0.2345678, "units": 256}, {"trial": "0", "score": 0.1, "units": None}]
        >>> print(format_table(rows))
        trial  score   units
        1      0.2346  256
        0      0.1
        >>> print(format_table(rows, ["units", "trial"]))
        units  trial
        256    1
               0
        >>> format_table([])
        'No trials yet.'
    """
    if not rows:
        return "No trials yet."
    columns = columns or list(rows[0])

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def plot_results(tuner, path, top=5, rows=None):
    """Write a figure of a search: the scores per trial, per backbone, and the best learning curves.

    Three panels: the score of each trial in order, the spread of scores per backbone (or family),
    and the per-epoch objective of the ``top`` best trials.

    Args:
        tuner: A ``SearchTuner`` (``make_tuner``'s).
        path: The image file to write (PNG, PDF, SVG, … by its extension).
        top: How many of the best trials' learning curves to draw.
        rows: The ``results_table(tuner)`` already at hand, if any; by default it is read again.

    Returns:
        ``path``.

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
        ...                    project_name="plot", verbose=0)
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> plot_results(tuner, "search.png")
        'search.png'
        >>> from PIL import Image
        >>> Image.open("search.png").size
        (1500, 420)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results_table(tuner) if rows is None else rows
    objective = tuner.oracle.objective.name
    group = next((g for g in ("backbone", "family") if any(g in r for r in rows)), None)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    scored = sorted((r for r in rows if r["score"] is not None), key=lambda r: r["trial"])
    axes[0].plot([r["trial"] for r in scored], [r["score"] for r in scored], "o-")
    axes[0].set(title=f"{objective} per trial", xlabel="trial", ylabel=objective)
    axes[0].tick_params(axis="x", labelrotation=90)
    if group and scored:
        groups = sorted({str(r[group]) for r in scored})
        spread = [[r["score"] for r in scored if str(r[group]) == g] for g in groups]
        axes[1].boxplot(spread, showfliers=False)
        for i, scores in enumerate(spread, start=1):
            axes[1].plot([i] * len(scores), scores, "o", alpha=0.6)
        axes[1].set_xticks(range(1, len(groups) + 1), groups, rotation=30)
    axes[1].set(title=f"{objective} per {group or 'trial'}", ylabel=objective)
    for row in [r for r in rows if r["score"] is not None][:top]:
        history = trial_history(tuner, row["trial"])
        axes[2].plot([h["epoch"] for h in history], [h.get(objective, np.nan) for h in history], "o-",
                     label=f"trial {row['trial']} ({row['score']:.3f})")
    axes[2].set(title=f"learning curves of the best {top}", xlabel="epoch", ylabel=objective)
    axes[2].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if axes[2].lines:
        axes[2].legend(fontsize=8)
    figure.tight_layout()
    atomic_write(path, lambda partial: figure.savefig(partial, dpi=100))
    plt.close(figure)
    return path


def export_best(tuner, path, retrain=False, train=None, validation_data=None, epochs=None, verbose=1):
    """Save the best trial's model (its best epoch) to ``path`` (.keras); returns the model.

    A captioner saved this way loads with ``load_captioner`` and captions exactly as the in-memory
    best model. ``retrain=True`` retrains the best hyperparameters from scratch on ``train`` and
    ``validation_data`` together for the best trial's number of epochs (say so to the reader: no
    held-out data is left to pick an epoch by), then saves that model.

    Args:
        tuner: A ``SearchTuner`` with at least one finished trial.
        path: The ``.keras`` file to write.
        retrain: Whether to retrain the best hyperparameters on ``train`` and ``validation_data``
            (needs a hypermodel with ``fit_all``, as CaptionHyperModel has).
        train: The training data, for ``retrain=True``.
        validation_data: The validation data, for ``retrain=True`` (trained on too).
        epochs: The epochs of the retraining; by default the best trial's best epoch.
        verbose: Whether to print which trial was exported (and Keras' progress of a retraining).

    Returns:
        The exported Keras model.

    Raises:
        ValueError: When the search has no finished trial yet, or ``retrain=True`` lacks ``train``
            or ``validation_data``.

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
        ...                    project_name="export", verbose=0)
        >>> x, y = np.zeros((4, 2)), np.zeros((4, 1))
        >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
        >>> model = export_best(tuner, "best.keras")
        Exported trial 0 (val_accuracy 1.0000, epoch 1) to best.keras
        >>> keras.saving.load_model("best.keras").count_params(), model.count_params()
        (9, 9)
    """
    best = tuner.oracle.get_best_trials(1)
    if not best:
        raise ValueError(f"The search in {tuner.project_dir} has no finished trial to export yet.")
    trial = best[0]
    if retrain:
        model = retrain_best(tuner, trial, train, validation_data, epochs, verbose)
    else:
        with without_optimizer_state():
            model = tuner.load_model(trial)
    if getattr(model, "optimizer", None) is not None:
        model.optimizer.build(model.trainable_variables)  # saved whole, as load_captioner rebuilds it
    export = getattr(tuner.hypermodel, "export_model", None)
    model = export(model) if export else model
    atomic_write(path, model.save)
    if verbose:
        how = "retrained on train+val" if retrain else f"epoch {best_epoch(trial)}"
        print(f"Exported trial {trial.trial_id} ({tuner.oracle.objective.name} {trial.score:.4f}, {how}) to {path}")
    return model


def retrain_best(tuner, trial, train, validation_data, epochs, verbose):
    """The best hyperparameters trained anew on train + val (CaptionDatasets or (x, y) arrays)."""
    if train is None or validation_data is None:
        raise ValueError("retrain=True needs the training and validation data: export_best(tuner, path, "
                         "retrain=True, train=train, validation_data=val).")
    epochs = epochs or best_epoch(trial)
    print(f"Retraining trial {trial.trial_id}'s hyperparameters on train+val for {epochs} epochs (the best "
          "trial's); no data is held out, so this model has no validation score of its own.")
    model = tuner.hypermodel.build(trial.hyperparameters)
    tuner.hypermodel.fit_all(trial.hyperparameters, model, train, validation_data, epochs=epochs, verbose=verbose)
    return model
