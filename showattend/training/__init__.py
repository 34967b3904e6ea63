"""The recipe behind `showattend train` and the demo: data → vocabulary → model → fit → the best epoch.

``fit_best`` (``showattend.training.recipe``) is the training loop both use: Adam with a learning-rate
schedule and clipped gradients, ``CaptionMetrics`` (free-running validation BLEU-4 and CIDEr-D every
epoch), the best epoch by validation BLEU-4 kept in ``model.keras``, one history row per epoch, and a
backup every epoch so a killed run resumes where it stopped. ``train`` (``showattend.training.run``)
adds what the command needs around it: reading the data, the vocabulary, the backbone and its feature
cache, ``config.json`` and ``curves.png``. ``showattend.training.run_folder`` reads a run's files back.
"""
from showattend.training.recipe import PAPER_DECODER, SCHEDULES, KeptEpoch, Recipe, fit_best, steps_per_epoch  # noqa: F401
from showattend.training.run import count_cut, train  # noqa: F401
# the run folder's internals, importable from here for the demo and the command line
from showattend.training.run_folder import (KEPT_FILE, RESUMABLE, backed_up_epochs, check_same_run, kept_epoch,  # noqa: F401
                                            plot_curves, read_history, read_json_file, resume_note, text_defaults,
                                            training_started)

__all__ = ["PAPER_DECODER", "Recipe", "fit_best", "kept_epoch", "plot_curves", "steps_per_epoch", "train"]
