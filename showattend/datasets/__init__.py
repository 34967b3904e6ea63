"""Dataset readers that return CaptionDataset objects."""
from showattend.datasets.shapes import shapes

__all__ = ["shapes"]
