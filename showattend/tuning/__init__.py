"""Tune backbones and decoder with keras-tuner.

``CaptionHyperModel`` → ``make_tuner`` → ``search`` → ``results_table`` / ``plot_results`` /
``export_best``; ``showattend.tuning.session.tune`` runs them all from a data spec, as
`showattend tune` does. Importing this module imports keras-tuner.
"""
from showattend.tuning.hypermodel import CaptionHyperModel, caption_objective
from showattend.tuning.report import export_best, format_table, plot_results, results_table
from showattend.tuning.search import ALGORITHMS, SearchTuner, make_tuner
from showattend.tuning.space import NAMES

__all__ = ["ALGORITHMS", "CaptionHyperModel", "NAMES", "SearchTuner", "caption_objective", "export_best",
           "format_table", "make_tuner", "plot_results", "results_table"]
