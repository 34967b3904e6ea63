"""A search's results: one row per trial, a figure, and the best model exported."""
import csv
import io
import os

import numpy as np

from showattend.files import atomic_write, read_json, write_text
from showattend.tuning.search import HISTORY_FILE, without_optimizer_state

FIRST_COLUMNS = ("trial", "status", "score", "best_epoch", "epochs", "params", "seconds_per_epoch", "batch_size")


def trial_history(tuner, trial_id):
    """The per-epoch rows the tuner kept for one trial ([] if it never finished an epoch)."""
    path = os.path.join(tuner.get_trial_dir(trial_id), HISTORY_FILE)
    return read_json(path) if os.path.isfile(path) else []


def best_epoch(trial):
    """The 1-based epoch of ``trial``'s best score, counted from the start of training: keras-tuner's
    ``best_step`` counts from the first epoch this trial ran, which for a Hyperband promotion is
    the epoch it went on from (``tuner/initial_epoch``)."""
    if trial.best_step is None:
        return None
    return int(trial.hyperparameters.values.get("tuner/initial_epoch", 0)) + int(trial.best_step) + 1


def results_table(tuner, csv_path=None):
    """One row per trial, best first: every hyperparameter (keras-tuner's bookkeeping ``tuner/…``
    left out), the score, the best epoch, the parameter count, seconds per epoch, the batch size that
    ran and the status. Written to ``csv_path`` too when given.

    >>> rows = results_table(tuner, "tuning/results.csv")  # doctest: +SKIP
    >>> print(format_table(rows))  # doctest: +SKIP
    """
    rows, names = [], []
    for trial in tuner.oracle.trials.values():
        history = trial_history(tuner, trial.trial_id)
        values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
        names += [n for n in values if n not in names]
        rows.append({"trial": trial.trial_id, "status": trial.status,
                     "score": None if trial.score is None else float(trial.score),
                     "best_epoch": best_epoch(trial),
                     "params": history[-1]["params"] if history else None,
                     "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])) if history else None,
                     "batch_size": history[-1].get("batch_size") if history else None,
                     "epochs": len(history), **values})
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["trial"]))
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
    """``rows`` as an aligned text table (numbers to 4 significant digits)."""
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
    """Write a figure: the score of each trial in order, the spread of scores per backbone (or family),
    and the per-epoch objective of the ``top`` best trials. Returns ``path``. ``rows``: the
    ``results_table(tuner)`` already at hand, if any.

    >>> plot_results(tuner, "tuning/search.png")  # doctest: +SKIP
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

    >>> export_best(tuner, "best.keras")  # doctest: +SKIP
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
