"""CNN backbones behind one registry: feature extractors that return a grid of region features.

Hyperparameter search over the backbones as classifiers (keras-tuner, imported only there):
``from cnn_backbones.tuning import BackboneHyperModel, OBJECTIVE``.

Examples:
    >>> import cnn_backbones
    >>> model = cnn_backbones.create_backbone("small_vgg")
    >>> model.input_shape, model.output_shape  # images (0..255) → an 8×8 grid of 64-channel regions
    ((None, 64, 64, 3), (None, 8, 8, 64))
"""
from cnn_backbones.registry import (BackboneInfo, backbone_info, backbone_options, create_backbone, list_backbones,
                                    register_backbone)
from cnn_backbones.hub import MissingExtraError, is_hub_name
from cnn_backbones.classifier import classifier_compile_args, classifier_targets, create_classifier, inference_model
from cnn_backbones import densenet, googlenet, highway, resnet, small, vgg  # noqa: F401  (they register backbones)

__all__ = ["BackboneInfo", "backbone_info", "backbone_options", "classifier_compile_args", "classifier_targets",
           "create_backbone", "create_classifier", "inference_model", "is_hub_name", "list_backbones", "MissingExtraError",
           "register_backbone"]
