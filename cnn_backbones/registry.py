"""One registry of CNN backbones: build any of them by name, list them, read their metadata."""
import dataclasses
import fnmatch
import inspect

from cnn_backbones.hub import HUB_PREFIX, hub_info, hub_presets, is_hub_name
from cnn_backbones.pretrained import check_weights_argument


@dataclasses.dataclass(frozen=True)
class BackboneInfo:
    """What a registry entry promises about the model it builds.

    Attributes:
        name: the backbone's registered name.
        family: its family (``"vgg"``, ``"resnet"``, ``"densenet"``, ``"googlenet"``, ``"highway"``;
            ``"hub"`` for keras-hub presets).
        builder: ``builder(input_shape, **options)`` → a ``keras.Model`` from images to the grid.
        default_input_shape: (height, width, 3) when none is given.
        feature_stride: input pixels per grid cell.
        grid_channels: the channels of the grid at the default options.
        feature_layer: the name of the layer whose output is the grid.
        imagenet_weights: whether keras.applications publishes ImageNet weights for this architecture.
        preprocessing: ``"scale"`` (to -1..1), keras.applications' ``"caffe"`` / ``"torch"`` mode, or
            ``"preset"`` (a keras-hub preset's own ``ImageConverter``).
        aux_layers: the layers the auxiliary classifier heads hang from (GoogLeNet: 4a, 4d).
        description: one line for listings.

    Examples:
        >>> info = backbone_info("small_vgg")
        >>> info.family, info.feature_stride, info.grid_channels, info.default_input_shape
        ('vgg', 8, 64, (64, 64, 3))
    """

    name: str
    family: str
    builder: object
    default_input_shape: tuple
    feature_stride: int
    grid_channels: int
    feature_layer: str
    imagenet_weights: bool = False
    preprocessing: str = "scale"
    aux_layers: tuple = ()
    description: str = ""


_REGISTRY = {}


def register_backbone(name, builder, *, family, default_input_shape, feature_stride, grid_channels,
                      feature_layer, imagenet_weights=False, preprocessing="scale", aux_layers=(), description=""):
    """Add a backbone to the registry (a decorator-free call, so variants stay one line each).

    ``builder(input_shape, **options)`` returns a ``keras.Model`` from images to the grid; when
    ``imagenet_weights`` is true it also takes ``weights`` (None, "imagenet" or a keras.applications file).
    The builder's other keyword arguments are the backbone's options (``backbone_options``).

    Args:
        name: the name to register, unique.
        builder: the function that builds the model.
        family: the family it belongs to (searched together by ``cnn_backbones.tuning``).
        default_input_shape: (height, width, 3) when ``create_backbone`` is given none.
        feature_stride: input pixels per grid cell.
        grid_channels: the channels of the grid at the default options.
        feature_layer: the name of the layer whose output is the grid.
        imagenet_weights: whether the builder takes ``weights`` (keras.applications' published ones).
        preprocessing: the ``ImagePreprocessing`` mode the model applies.
        aux_layers: the layers auxiliary classifier heads may hang from.
        description: one line for listings.

    Returns:
        ``builder``, unchanged.

    Raises:
        ValueError: when a backbone of that name is already registered.

    Examples:
        >>> import keras
        >>> from cnn_backbones import registry
        >>> from cnn_backbones.blocks import conv_bn_relu, image_input, preprocessing
        >>> def tiny(input_shape=(32, 32, 3), width=8):
        ...     inputs = image_input(input_shape)
        ...     x = conv_bn_relu(preprocessing(inputs), width, strides=2, name="features")
        ...     return keras.Model(inputs, x, name="tiny")
        >>> _ = register_backbone("tiny", tiny, family="tiny", default_input_shape=(32, 32, 3),
        ...                       feature_stride=2, grid_channels=8, feature_layer="features_relu")
        >>> backbone_options("tiny")
        {'width': 8}
        >>> create_backbone("tiny", width=4).output_shape
        (None, 16, 16, 4)
        >>> del registry._REGISTRY["tiny"]  # only so that this example can run again
    """
    if name in _REGISTRY:
        raise ValueError(f"A backbone named {name!r} is already registered.")
    _REGISTRY[name] = BackboneInfo(name, family, builder, tuple(default_input_shape), feature_stride,
                                   grid_channels, feature_layer, imagenet_weights, preprocessing,
                                   tuple(aux_layers), description)
    return builder


def list_backbones(pattern="*"):
    """Names of the registered backbones that match a shell-style ``pattern``.

    A pattern that starts with ``"hub:"`` matches keras-hub's own image-encoder presets too
    (``"hub:dinov2_*"``), when keras-hub is installed; any keras-hub preset name or local preset
    folder works as ``"hub:PRESET"`` whether listed or not.

    Args:
        pattern: an ``fnmatch`` pattern such as ``"resnet*"``; ``"*"`` for every registered backbone.

    Returns:
        A sorted list of names.

    Examples:
        >>> list_backbones("small_*")
        ['small_densenet', 'small_googlenet', 'small_vgg']
        >>> list_backbones("hub:dinov2_*small")
        ['hub:dinov2_small', 'hub:dinov2_with_registers_small']
    """
    names = [*_REGISTRY, *(hub_presets() if pattern.startswith(HUB_PREFIX) else [])]
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern))


def backbone_info(name):
    """The registry entry of ``name``.

    For ``"hub:PRESET"`` the entry is measured on a random-weight build of the preset at its own
    image size (224×224 where it takes any): family ``"hub"``, the grid's stride and channels, and
    preprocessing ``"preset"`` (its ``ImageConverter``); its weights come from the preset.

    Args:
        name: a registered backbone's name, or ``"hub:PRESET"`` (a keras-hub preset name or folder).

    Returns:
        Its ``BackboneInfo``.

    Raises:
        ValueError: when ``name`` is not registered (the message lists the names accepted), or
            names a keras-hub preset that cannot be found.
        ImportError: for ``"hub:…"`` without keras-hub installed.

    Examples:
        >>> info = backbone_info("resnet50")
        >>> info.feature_stride, info.grid_channels, info.imagenet_weights
        (32, 2048, True)
    """
    if is_hub_name(name):
        return hub_info(name)
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"Unknown backbone {name!r}. Available: {', '.join(list_backbones())}, or hub:PRESET "
                         "for a keras-hub preset.")
    return _REGISTRY[name]


def backbone_options(name):
    """The options backbone ``name``'s builder takes (besides input_shape and weights), with their defaults.

    Args:
        name: a registered backbone's name.

    Returns:
        A dict ``{option: default}``, in the builder's order.

    Raises:
        ValueError: when ``name`` is not registered.

    Examples:
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

    Args:
        name: a registered backbone's name (``list_backbones()``).
        input_shape: (height, width, 3); None for the backbone's ``default_input_shape``.
        weights: None, ``"imagenet"`` or the path of a weights file, as above.
        trainable: False freezes the whole model.
        **options: the backbone's own options (``backbone_options(name)``).

    Returns:
        The ``keras.Model``.

    Raises:
        ValueError: for an unknown name or option, an ``input_shape`` that is not (height, width, 3),
            weights that are not None, ``"imagenet"`` or an existing file, ``"imagenet"`` for a
            backbone without published weights, or a weights file that does not load.

    Examples:
        >>> model = create_backbone("small_vgg", input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 8, 8, 64)
        >>> model.save_weights("small_vgg.weights.h5")
        >>> frozen = create_backbone("small_vgg", (64, 64, 3), weights="small_vgg.weights.h5", trainable=False)
        >>> frozen.trainable, len(frozen.trainable_weights)
        (False, 0)
    """
    if weights == "imagenet" and is_hub_name(name):
        raise ValueError(f"Backbone {name!r} takes its weights from its keras-hub preset; weights='imagenet' is for "
                         "keras.applications' architectures. Use weights=None (the preset's) or a weights file.")
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
