"""A training run's folder: its files named once, what a rerun reads to resume, and ``curves.png``.

``fit_best`` and ``train`` write ``model.keras``, ``kept_epoch.json``, ``history.csv``, ``backup/``,
``config.json`` and ``curves.png`` into it; the functions here read them back.
"""
import json
import os

from showattend.callbacks import read_history  # noqa: F401 (the demo reads a run's history from here)
from showattend.files import atomic_write, read_json, write_json  # noqa: F401 (write_json: the examples)

__all__ = ["kept_epoch", "plot_curves"]

KEPT_FILE = "kept_epoch.json"


def kept_epoch(out):
    """The epoch kept in ``out/model.keras`` and its validation scores, from ``out/kept_epoch.json``.

    Args:
        out: A run's folder (``train``'s or ``fit_best``'s).

    Returns:
        A dict such as ``{"epoch": 5, "val_bleu4": 0.99, "val_cider": 4.9, ...}``; ``{}`` before the first epoch.

    Examples:

        >>> kept_epoch(".")  # nothing kept yet
        {}
        >>> _ = write_json("kept_epoch.json", {"epoch": 3, "val_bleu4": 0.42})  # as fit_best writes it
        >>> kept_epoch(".")
        {'epoch': 3, 'val_bleu4': 0.42}
    """
    path = os.path.join(out, KEPT_FILE)
    return read_json_file(path) if os.path.isfile(path) else {}


def backed_up_epochs(out):
    """How many epochs the run's ``backup/`` holds (``showattend.callbacks.Backup``'s metadata)."""
    path = os.path.join(out, "backup", "training_metadata.json")
    return int(read_json_file(path).get("epoch", 0)) if os.path.isfile(path) else 0


def resume_note(out, epochs=None):
    """The line a rerun prints first: how far the run in ``out`` got (None for a run not started).

    >>> os.makedirs("runs/demo/backup")  # as a run leaves it after 2 epochs
    >>> _ = write_json("runs/demo/backup/training_metadata.json", {"epoch": 2})
    >>> _ = write_json("runs/demo/kept_epoch.json", {"epoch": 2})
    >>> resume_note("runs/demo", epochs=6)
    'Resuming runs/demo: 2 epochs done (model.keras holds epoch 2); training goes on from epoch 3 of 6.'
    """
    done = backed_up_epochs(out)
    if not done:
        return None
    kept = kept_epoch(out).get("epoch")
    held = f" (model.keras holds epoch {kept})" if kept else ""
    if epochs is not None and done >= epochs:
        epochs_done = f"all {done} epochs" if done > 1 else "1 epoch"
        return f"Resuming {out}: {epochs_done} done{held}; nothing left to train."
    goes_on = f"training goes on from epoch {done + 1}" + (f" of {epochs}" if epochs else "")
    return f"Resuming {out}: {done} epoch{'s' if done > 1 else ''} done{held}; {goes_on}."


def plot_curves(history, path, kept=None):
    """Draw a run's ``curves.png``: the losses and the validation BLEU-4 per epoch.

    Loss and validation loss are on the left (cross-entropy too where the loss has other terms),
    validation BLEU-4 on the right, with the epoch kept marked.

    Args:
        history: The rows of ``history.csv`` (``read_history``).
        path: The PNG file to write (atomically).
        kept: ``kept_epoch(out)``, to mark that epoch; None: no mark.

    Returns:
        ``path``.

    Examples:

        >>> history = [{"epoch": 1, "loss": 3.0, "val_loss": 2.9, "val_bleu4": 0.21},
        ...            {"epoch": 2, "loss": 2.5, "val_loss": 2.6, "val_bleu4": 0.34}]
        >>> plot_curves(history, "curves.png", kept={"epoch": 2, "val_bleu4": 0.34})
        'curves.png'
        >>> from PIL import Image
        >>> Image.open("curves.png").size  # 9 × 3.4 inches at 100 dpi
        (900, 340)
    """
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    figure = Figure(figsize=(9, 3.4), dpi=100)
    loss_ax, bleu_ax = figure.subplots(1, 2)
    curves = [("loss", "training loss", "-"), ("val_loss", "validation loss", "-")]
    if any(abs(r.get("loss", 0) - r.get("cross_entropy", 0)) > 1e-6 for r in history):  # λ or REINFORCE terms
        curves += [("cross_entropy", "training cross-entropy", "--"), ("val_cross_entropy", "validation cross-entropy", "--")]
    for key, label, style in curves:
        points = [(r["epoch"], r[key]) for r in history if key in r]
        if points:
            loss_ax.plot(*zip(*points), style, marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="per caption", title="loss")
    loss_ax.legend()
    points = [(r["epoch"], r["val_bleu4"]) for r in history if "val_bleu4" in r]
    if points:
        bleu_ax.plot(*zip(*points), marker="o", color="tab:green")
        if kept:
            bleu_ax.axvline(kept["epoch"], color="grey", linestyle=":")
            bleu_ax.annotate(f"kept: epoch {kept['epoch']}", (kept["epoch"], kept["val_bleu4"]),
                             textcoords="offset points", xytext=(4, -12))
    bleu_ax.set(xlabel="epoch", ylabel="BLEU-4", title="validation BLEU-4 (free-running)")
    for ax in (loss_ax, bleu_ax):
        ax.set_xticks(epochs)
    figure.tight_layout()
    return atomic_write(path, lambda partial: figure.savefig(partial, format="png"))


RESUMABLE = ("epochs", "verbose", "tensorboard", "on_bad_image")  # settings a rerun may change and still resume


def training_started(out):
    """Whether a run in ``out`` has finished an epoch (a backup or a history exists)."""
    return os.path.isdir(os.path.join(out, "backup")) or os.path.isfile(os.path.join(out, "history.csv"))


def check_same_run(out, settings):
    """Refuse to resume the run in ``out`` with other ``settings`` than its ``config.json`` holds.

    ``RESUMABLE`` settings may change; the error lists what else changed. A run that never finished
    an epoch binds nothing: its settings may change.

    >>> os.makedirs("runs/old/backup")  # a run that finished an epoch
    >>> _ = write_json("runs/old/config.json", {"data": "shapes", "epochs": 10})
    >>> check_same_run("runs/old", {"data": "shapes:100", "epochs": 20})
    Traceback (most recent call last):
    ValueError: runs/old holds a run with other settings (data: 'shapes' before, 'shapes:100' now). Rerun ...
    """
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path) or not training_started(out):
        return
    old = read_json_file(path)
    settings = json.loads(json.dumps(settings))  # tuples as lists, as they are read back
    changed = [f"{k}: {old.get(k)!r} before, {settings.get(k)!r} now" for k in sorted(set(old) | set(settings))
               if k not in RESUMABLE and old.get(k) != settings.get(k)]
    if changed:
        raise ValueError(f"{out} holds a run with other settings ({'; '.join(changed)}). Rerun with the same "
                         "settings to resume it, or choose another output folder.")


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
