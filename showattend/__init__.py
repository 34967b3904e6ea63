"""showattend: "Show, Attend and Tell" image captioning in Keras 3 on TensorFlow."""
import os

# TensorFlow's C++ log: without a GPU it prints "failed call to cuInit: CUDA error" at startup,
# which is harmless and alarming. A value the user set wins; Python errors are raised regardless.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from showattend.captioner import Captioner, load_captioner  # noqa: E402
from showattend.captioning import Caption  # noqa: E402
from showattend.data import CaptionDataset  # noqa: E402
from showattend.text import Vocabulary  # noqa: E402

__all__ = ["Caption", "Captioner", "CaptionDataset", "Vocabulary", "load_captioner"]
__version__ = "0.1.0"
