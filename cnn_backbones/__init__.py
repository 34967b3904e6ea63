"""CNN backbones behind one registry: feature extractors that return a grid of region features.

Hyperparameter search over the backbones as classifiers (keras-tuner, imported only there):
``from cnn_backbones.tuning import BackboneHyperModel, OBJECTIVE``.
"""
from cnn_backbones.registry import (BackboneInfo, backbone_info, backbone_options, create_backbone, list_backbones,
                                    register_backbone)
from cnn_backbones.classifier import classifier_compile_args, classifier_targets, create_classifier, inference_model
from cnn_backbones import densenet, googlenet, highway, resnet, small, vgg  # noqa: F401  (they register backbones)

__all__ = ["BackboneInfo", "backbone_info", "backbone_options", "classifier_compile_args", "classifier_targets",
           "create_backbone", "create_classifier", "inference_model", "list_backbones", "register_backbone"]
