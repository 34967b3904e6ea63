"""One registry of CNN backbones: build any of them by name, list them, read their metadata."""
import dataclasses
import fnmatch
import inspect

from cnn_backbones.pretrained import check_weights_argument


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
    imagenet_weights: bool = False  # keras.applications publishes ImageNet weights for this architecture
    preprocessing: str = "scale"  # "scale" (to -1..1) or keras.applications' "caffe" / "torch" mode
    aux_layers: tuple = ()  # layers the auxiliary classifier heads hang from (GoogLeNet: 4a, 4d)
    description: str = ""


_REGISTRY = {}


def register_backbone(name, builder, *, family, default_input_shape, feature_stride, grid_channels,
                      feature_layer, imagenet_weights=False, preprocessing="scale", aux_layers=(), description=""):
    """Add a backbone to the registry (a decorator-free call, so variants stay one line each).

    ``builder(input_shape, **options)`` returns a ``keras.Model`` from images to the grid; when
    ``imagenet_weights`` is true it also takes ``weights`` (None, "imagenet" or a keras.applications file).
    """
    if name in _REGISTRY:
        raise ValueError(f"A backbone named {name!r} is already registered.")
    _REGISTRY[name] = BackboneInfo(name, family, builder, tuple(default_input_shape), feature_stride,
                                   grid_channels, feature_layer, imagenet_weights, preprocessing,
                                   tuple(aux_layers), description)
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


def backbone_options(name):
    """The options backbone ``name``'s builder takes (besides input_shape and weights), with their defaults.

    >>> backbone_options("resnet50")
    {'feature_stage': 5}
    """
    parameters = inspect.signature(backbone_info(name).builder).parameters
    return {k: p.default for k, p in parameters.items() if k not in ("input_shape", "name", "weights")}


def create_backbone(name, input_shape=None, weights=None, trainable=True, **options):
    """Build backbone ``name``: a ``keras.Model`` from images (0..255) to a feature grid (B, h, w, C).

    The model carries its own preprocessing, so callers pass images in the uint8 range.
    ``weights``: None (random), ``"imagenet"`` (keras.applications' published weights, downloaded
    once into Keras' cache; only where ``backbone_info(name).imagenet_weights``), or a file path:
    for those same architectures a weights file of the matching keras.applications model
    (``include_top=False``), for the others a file written by ``model.save_weights`` of this backbone.

    >>> model = create_backbone("small_vgg", input_shape=(64, 64, 3))
    >>> tuple(model.output.shape)
    (None, 8, 8, 64)
    """
    info = backbone_info(name)
    input_shape = tuple(input_shape or info.default_input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape}.")
    accepted = list(backbone_options(name))
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"Backbone {name!r} has no option {', '.join(map(repr, unknown))}. "
                         f"Accepted: {', '.join(accepted) or 'none'}.")
    check_weights_argument(name, weights)
    if weights == "imagenet" and not info.imagenet_weights:
        published = [n for n in list_backbones() if _REGISTRY[n].imagenet_weights]
        raise ValueError(f"Backbone {name!r} has no published ImageNet weights in keras.applications; "
                         f"these do: {', '.join(published)}. Use weights=None or a weights file.")
    if info.imagenet_weights:
        model = info.builder(input_shape, weights=weights, **options)
    else:
        model = info.builder(input_shape, **options)
        if weights is not None:
            try:
                model.load_weights(weights)
            except Exception as error:
                raise ValueError(f"Could not load weights file {weights!r} into backbone {name!r} "
                                 f"(it takes files written by save_weights of this backbone): {error}") from error
    model.trainable = bool(trainable)
    return model
