"""showattend: "Show, Attend and Tell" image captioning in Keras 3 on TensorFlow.

What a first user needs is exported here: the model (`Captioner`, `Vocabulary`, `load_captioner`),
the dataset readers (`load_dataset` and one reader per source), the recipe that trains and keeps
the best epoch (`train`, `fit_best`, `Recipe`), `evaluate`, and the figures of where each word
looked. The names beyond the model, and the subpackages (``showattend.tuning`` imports keras-tuner
only then), are imported on first use, so ``import showattend`` costs no more than the model.

Examples:
    >>> import showattend
    >>> data = showattend.load_dataset("shapes:8")
    >>> len(data), data.name
    (8, 'shapes-train')
"""
import importlib
import os

# TensorFlow's C++ log: without a GPU it prints "failed call to cuInit: CUDA error" at startup,
# which is harmless and alarming. A value the user set wins; Python errors are raised regardless.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from showattend.captioner import Captioner  # noqa: E402
from showattend.generation import Caption  # noqa: E402
from showattend.data import CaptionDataset  # noqa: E402
from showattend.saving import load_captioner  # noqa: E402
from showattend.text import Vocabulary  # noqa: E402

# Loaded by ``__getattr__`` on first use (PEP 562): name -> (module, attribute).
EXPORTS = {
    "load_dataset": ("showattend.datasets", "load"),
    **{reader: ("showattend.datasets", reader) for reader in ("coco", "flickr", "folder", "karpathy", "shapes", "tfds")},
    "train": ("showattend.training", "train"),
    "fit_best": ("showattend.training", "fit_best"),
    "Recipe": ("showattend.training", "Recipe"),
    "evaluate": ("showattend.evaluation", "evaluate"),
    **{figure: ("showattend.visualize", figure) for figure in (
        "attention_animation", "attention_overlays", "plot_attention", "plot_attention_grid", "save_attention")},
}
__all__ = ["Caption", "Captioner", "CaptionDataset", "Vocabulary", "load_captioner", *EXPORTS]
__version__ = "0.1.0"

SUBMODULES = ("callbacks", "data", "datasets", "evaluation", "features", "generation", "layers", "optimizers",
              "text", "training", "tuning", "visualize")


def __getattr__(name):
    """The names in EXPORTS and the SUBMODULES, imported on first use.

    Args:
        name: the attribute asked for.

    Returns:
        The exported object or the subpackage.

    Raises:
        AttributeError: ``name`` is neither; the message lists what is available.

    Examples:
        >>> import showattend
        >>> showattend.datasets.load("shapes:5").name
        'shapes-train'
        >>> showattend.plot_attention.__module__
        'showattend.visualize'
    """
    if name in EXPORTS:
        module, attribute = EXPORTS[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # asked once
        return value
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # also sets it as an attribute: asked once
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}. Available subpackages: "
                         f"{', '.join(SUBMODULES)}; and {', '.join(__all__)}.")


def __dir__():
    return sorted(set(globals()) | set(SUBMODULES) | set(EXPORTS))
