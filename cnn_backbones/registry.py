"""One registry of CNN backbones: build any of them by name, list them, read their metadata."""
import dataclasses
import fnmatch
import inspect

import keras


@dataclasses.dataclass(frozen=True)
class BackboneInfo:
    """What a registry entry promises about the model it builds."""

    name: str
    family: str
    builder: object  # builder(input_shape, **options) -> keras.Model from images to the grid
    default_input_shape: tuple
    feature_stride: int
    grid_channels: int
    feature_layer: str
    imagenet_weights: bool = False
    description: str = ""


_REGISTRY = {}


def register_backbone(name, builder, *, family, default_input_shape, feature_stride, grid_channels,
                      feature_layer, imagenet_weights=False, description=""):
    """Add a backbone to the registry (a decorator-free call, so variants stay one line each)."""
    if name in _REGISTRY:
        raise ValueError(f"A backbone named {name!r} is already registered.")
    _REGISTRY[name] = BackboneInfo(name, family, builder, tuple(default_input_shape), feature_stride,
                                   grid_channels, feature_layer, imagenet_weights, description)
    return builder


def list_backbones(pattern="*"):
    """Names of the registered backbones that match a shell-style ``pattern``.

    >>> "small_vgg" in list_backbones("small_*")
    True
    """
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def backbone_info(name):
    """The registry entry of ``name``; a ValueError lists the names accepted."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"Unknown backbone {name!r}. Available: {', '.join(list_backbones())}.")
    return _REGISTRY[name]


def create_backbone(name, input_shape=None, weights=None, trainable=True, **options):
    """Build backbone ``name``: a ``keras.Model`` from images (0..255) to a feature grid (B, h, w, C).

    The model carries its own preprocessing, so callers pass images in the uint8 range.

    >>> model = create_backbone("small_vgg", input_shape=(64, 64, 3))
    >>> tuple(model.output.shape)
    (None, 8, 8, 64)
    """
    info = backbone_info(name)
    input_shape = tuple(input_shape or info.default_input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape}.")
    if weights is not None:
        raise ValueError(f"Backbone {name!r} has no pretrained weights; use weights=None.")
    accepted = [p for p in inspect.signature(info.builder).parameters if p not in ("input_shape", "name")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"Backbone {name!r} has no option {', '.join(map(repr, unknown))}. "
                         f"Accepted: {', '.join(accepted) or 'none'}.")
    model = info.builder(input_shape, **options)
    model.trainable = bool(trainable)
    return model


def create_classifier(name, num_classes, input_shape=None, dropout=0.0, **options):
    """Backbone ``name`` → global average pooling → dropout → a dense layer of ``num_classes`` logits.

    >>> import numpy as np
    >>> model = create_classifier("resnet18", 1000)
    >>> sum(int(np.prod(w.shape)) for w in model.trainable_weights)  # the published count
    11689512
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")
    backbone = create_backbone(name, input_shape=input_shape, **options)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(backbone.output)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(backbone.input, logits, name=f"{name}_classifier")
