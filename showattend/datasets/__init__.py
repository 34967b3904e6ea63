"""Dataset readers that return CaptionDataset objects, and ``load(spec)``, the one entry point to them.

Each reader lists image files (absolute paths, decoded later, in the pipeline) with their raw
captions: ``karpathy`` (Karpathy's split JSONs), ``coco`` (COCO captions JSON), ``flickr``
(Flickr8k/30k token files), ``folder`` (your images with a CSV or JSON Lines file), ``tfds``
(tensorflow-datasets, exported to files once); ``shapes`` draws the built-in data.
"""
from showattend.datasets.coco import coco
from showattend.datasets.common import AnnotationError
from showattend.datasets.flickr import flickr
from showattend.datasets.folder import folder
from showattend.datasets.karpathy import karpathy
from showattend.datasets.load import load, seeded_split, test_split
from showattend.datasets.shapes import shapes
from showattend.datasets.tfds import tfds

__all__ = ["AnnotationError", "coco", "flickr", "folder", "karpathy", "load", "seeded_split", "shapes", "test_split", "tfds"]
