"""CNN backbones behind one registry: feature extractors that return a grid of region features."""
from cnn_backbones.registry import (BackboneInfo, backbone_info, create_backbone, create_classifier, list_backbones,
                                    register_backbone)
from cnn_backbones import resnet, small  # noqa: F401  (they register their backbones)

__all__ = ["BackboneInfo", "backbone_info", "create_backbone", "create_classifier", "list_backbones",
           "register_backbone"]
