"""showattend: "Show, Attend and Tell" image captioning in Keras 3 on TensorFlow.

The subpackages are attributes of the package, each imported on first use (``showattend.tuning``
imports keras-tuner only then), so ``import showattend`` costs no more than the classes below.
"""
import importlib
import os

# TensorFlow's C++ log: without a GPU it prints "failed call to cuInit: CUDA error" at startup,
# which is harmless and alarming. A value the user set wins; Python errors are raised regardless.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from showattend.captioner import Captioner  # noqa: E402
from showattend.captioning import Caption  # noqa: E402
from showattend.data import CaptionDataset  # noqa: E402
from showattend.saving import load_captioner  # noqa: E402
from showattend.text import Vocabulary  # noqa: E402

__all__ = ["Caption", "Captioner", "CaptionDataset", "Vocabulary", "load_captioner"]
__version__ = "0.1.0"

# Loaded by ``__getattr__`` on first use (PEP 562); a module already imported is an attribute anyway.
SUBMODULES = ("callbacks", "data", "datasets", "evaluation", "features", "generation", "layers", "optimizers",
              "text", "training", "tuning", "visualize")


def __getattr__(name):
    """``showattend.datasets`` and the other SUBMODULES, imported on first use.

    >>> import showattend
    >>> showattend.datasets.load("shapes:5").name
    'shapes-train'
    """
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # also sets it as an attribute: asked once
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}. Available subpackages: "
                         f"{', '.join(SUBMODULES)}; and {', '.join(__all__)}.")


def __dir__():
    return sorted(set(globals()) | set(SUBMODULES))
