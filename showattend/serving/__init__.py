"""The attention viewer as a local web app: ``make_app`` (Flask) and ``CaptionBatcher``; ``showattend serve``."""
from showattend.serving.app import labels_of, make_app
from showattend.serving.batcher import CaptionBatcher

__all__ = ["CaptionBatcher", "labels_of", "make_app"]
