"""The recipe behind `showattend train` and the demo: data → vocabulary → model → fit → the best epoch.

``Recipe`` (``showattend.training.recipe``) holds the optimizer, schedule and validation settings;
``fit_best`` (``showattend.training.loop``) is the training loop both use: Adam with a learning-rate
schedule and clipped gradients, ``CaptionMetrics`` (free-running validation BLEU-4 and CIDEr-D every
epoch), the best epoch by validation BLEU-4 kept in ``model.keras``, one history row per epoch, and a
backup every epoch so a killed run resumes where it stopped. ``train`` (``showattend.training.run``)
adds what the command needs around it: reading the data, the vocabulary, the backbone and its feature
cache, ``config.json`` and ``curves.png``. ``RunFolder`` (``showattend.training.run_folder``) names a
run's files and reads them back. ``fit_workers`` (``showattend.training.multi_worker``) trains
across processes under ``MultiWorkerMirroredStrategy``, each worker on its share of the images.
"""
from showattend.training.loop import KeptEpoch, fit_best, steps_per_epoch  # noqa: F401
from showattend.training.multi_worker import fit_workers, worker_images  # noqa: F401
from showattend.training.recipe import PAPER_DECODER, SCHEDULES, Recipe  # noqa: F401
from showattend.training.run import count_cut, train  # noqa: F401
from showattend.training.run_folder import (RESUMABLE, RunFolder, kept_epoch, read_history, read_json_file,  # noqa: F401
                                            text_defaults)
from showattend.visualize import plot_curves  # noqa: F401 (where it was before it moved to visualize)

__all__ = ["PAPER_DECODER", "Recipe", "RunFolder", "fit_best", "fit_workers", "kept_epoch", "steps_per_epoch", "train",
           "worker_images"]
