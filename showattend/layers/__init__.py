"""Keras layers of the decoder: attention, recurrent cells, the attention decoder."""
from showattend.layers.attention import AdditiveAttention
from showattend.layers.cells import LSTMCell
from showattend.layers.decoder import AttentionDecoder

__all__ = ["AdditiveAttention", "LSTMCell", "AttentionDecoder"]
