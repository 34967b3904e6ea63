"""Keras layers the decoders are made of: attention over regions, recurrent cells, step products."""
from showattend.layers.attention import AdditiveAttention
from showattend.layers.cells import LSTMCell

__all__ = ["AdditiveAttention", "LSTMCell"]
