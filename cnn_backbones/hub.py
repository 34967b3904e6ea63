"""keras-hub image backbones as region encoders: ``create_backbone("hub:PRESET")``.

A preset is a keras-hub preset name (``"dinov2_small"``, ``"resnet_50_imagenet"``, …; downloaded
by keras-hub on first use into its cache) or a local preset folder written by
``backbone.save_to_preset(folder)`` and ``converter.save_to_preset(folder)``. The encoder takes
images in 0..255 at the size the data pipeline resized them to, applies the preset's own
``ImageConverter`` scale and offset, runs the preset's backbone and returns a grid
``(batch, h, w, C)``:

- convolutional backbones give their last output, or the pyramid level ``stage`` names (``"P4"``);
- Transformer backbones give their patch tokens on the patch grid; the class token and any
  register tokens (the tokens before the patches) are dropped.

keras-hub is an optional dependency (``pip install "showattend[hub]"``), imported only here.
"""
import functools
import os

import keras
from keras import ops

__all__ = ["HUB_PREFIX", "HubEncoder", "MissingExtraError", "hub_backbone", "hub_info", "hub_presets", "is_hub_name"]

HUB_PREFIX = "hub:"
INSTALL_HINT = 'keras-hub backbones need the hub extra: pip install "showattend[hub]" (or pip install keras-hub)'
# keras-hub families (a preset's metadata "path") whose presets list_backbones("hub:*") names: image
# encoders that give a grid (convolutional) or patch tokens (Transformers).
LISTED_FAMILIES = ("clip", "densenet", "dinov2", "efficientnet", "resnet", "vit")


class MissingExtraError(ImportError):
    """keras-hub is needed (for a ``"hub:"`` backbone, or to load a model that has one) and is not installed.

    Examples:
        >>> error = MissingExtraError(INSTALL_HINT)
        >>> isinstance(error, ImportError), "showattend[hub]" in str(error)
        (True, True)
    """


def is_hub_name(name):
    """Whether ``name`` names a keras-hub preset (``"hub:PRESET"``).

    Args:
        name: a backbone's name, or anything else.

    Returns:
        True for a string that starts with ``"hub:"``.

    Examples:
        >>> is_hub_name("hub:dinov2_small"), is_hub_name("resnet50"), is_hub_name(None)
        (True, False, False)
    """
    return isinstance(name, str) and name.startswith(HUB_PREFIX)


def keras_hub():
    """The keras_hub module; an ImportError that says how to install it otherwise."""
    try:
        import keras_hub as module
    except ImportError as error:
        raise MissingExtraError(INSTALL_HINT) from error
    return module


def hub_presets():
    """keras-hub's own image-encoder presets (of ``LISTED_FAMILIES``), as ``"hub:NAME"``.

    Returns:
        A sorted list of names; empty without keras-hub.

    Examples:
        >>> [name for name in hub_presets() if name.startswith("hub:efficientnet_b0")]
        ['hub:efficientnet_b0_ra4_e3600_r224_imagenet', 'hub:efficientnet_b0_ra_imagenet']
    """
    try:
        presets = keras_hub().models.Backbone.presets
    except MissingExtraError:
        return []
    return sorted(HUB_PREFIX + name for name, preset in presets.items()
                  if preset.get("metadata", {}).get("path") in LISTED_FAMILIES)


def _preset_of(name):
    preset = name[len(HUB_PREFIX):] if is_hub_name(name) else name
    if not preset:
        raise ValueError(f"{name!r} names no preset: write hub:PRESET, with a keras-hub preset name or the path of "
                         "a local preset folder.")
    return preset


def _is_local(preset):
    return os.sep in preset or preset.startswith(".") or os.path.exists(preset)


def _load(what, preset, loader):
    """``loader()`` (a keras-hub from_preset call), with errors that name the preset and the way out."""
    module = keras_hub()
    local = _is_local(preset)
    if local and not os.path.isfile(os.path.join(preset, "config.json")):
        raise ValueError(f"{preset!r} is not a keras-hub preset folder (it has no config.json). Write one with "
                         "backbone.save_to_preset(folder) and converter.save_to_preset(folder).")
    if not local and "://" not in preset and preset not in module.models.Backbone.presets:
        raise ValueError(f"Unknown keras-hub preset {preset!r}: neither one of keras-hub's presets "
                         "(cnn_backbones.list_backbones('hub:*') lists its image encoders) nor an existing folder.")
    try:
        return loader()
    except FileNotFoundError as error:
        raise ValueError(f"keras-hub preset {preset!r} has no {what}: {error} A local preset folder needs both "
                         "backbone.save_to_preset(folder) and its ImageConverter's save_to_preset(folder).") from error
    except (ImportError, ValueError, TypeError, KeyError) as error:
        if local:
            raise ValueError(f"Could not load the {what} of keras-hub preset folder {preset!r}: {error}") from error
        raise _download_error(preset, error) from error
    except Exception as error:  # network errors of kagglehub / huggingface_hub
        if local:
            raise
        raise _download_error(preset, error) from error


def _download_error(preset, error):
    return ValueError(
        f"Could not load keras-hub preset {preset!r} ({type(error).__name__}: {error}). keras-hub downloads a preset "
        "on first use into its cache (~/.cache/kagglehub); offline, where it is not cached, save it once where there "
        "is internet: keras_hub.models.Backbone.from_preset(NAME).save_to_preset(FOLDER) and "
        "keras_hub.layers.ImageConverter.from_preset(NAME).save_to_preset(FOLDER), then pass hub:FOLDER.")


def _config(preset):
    """The preset's config.json (the backbone's class and arguments)."""
    from keras_hub.src.utils.preset_utils import load_json

    return _load("config.json", preset, lambda: load_json(preset))


def _image_arguments(config):
    """The constructor arguments of a preset's image tower (CLIP's vision encoder; else the backbone's)."""
    arguments = config.get("config", {})
    return arguments["vision_encoder"].get("config", {}) if "vision_encoder" in arguments else arguments


def _patch_size(config):
    """The patch size of a Transformer preset's config, or None."""
    size = _image_arguments(config).get("patch_size")
    return tuple(size)[:2] if isinstance(size, (list, tuple)) else None if size is None else (size, size)


def _image_encoder(backbone):
    """The image tower of a two-tower backbone (CLIP's vision encoder), else the backbone itself."""
    return getattr(backbone, "vision_encoder", backbone)


def _load_backbone(preset, input_shape, load_weights=True):
    config = _config(preset)
    arguments = config.get("config", {})
    patch = _patch_size(config)
    if patch and (input_shape[0] % patch[0] or input_shape[1] % patch[1]):
        raise ValueError(f"keras-hub preset {preset!r} cuts images into {patch[0]}×{patch[1]} patches, so its image "
                         f"size must be a multiple of {patch[0]}×{patch[1]}; got {input_shape[0]}×{input_shape[1]}.")
    kwargs = {"image_shape": tuple(input_shape)} if "image_shape" in arguments else {}
    module = keras_hub()
    try:
        backbone = _load("backbone", preset, lambda: module.models.Backbone.from_preset(
            preset, load_weights=load_weights, **kwargs))
    except ValueError as error:
        own = arguments.get("image_shape")
        if kwargs and own and tuple(own[:2]) != tuple(input_shape[:2]):
            raise ValueError(f"keras-hub preset {preset!r} is made for {own[0]}×{own[1]} images and could not be "
                             f"built at {input_shape[0]}×{input_shape[1]}; use image_size=({own[0]}, {own[1]}). "
                             f"({error})") from error
        raise
    encoder = _image_encoder(backbone)
    shape = tuple(encoder.input_shape["images"] if isinstance(encoder.input_shape, dict) else encoder.input_shape)
    if None not in shape[1:3] and tuple(shape[1:3]) != tuple(input_shape[:2]):
        raise ValueError(f"keras-hub preset {preset!r} takes {shape[1]}×{shape[2]} images only; use "
                         f"image_size=({shape[1]}, {shape[2]}), not {input_shape[0]}×{input_shape[1]}.")
    return encoder


def _load_converter(preset):
    module = keras_hub()
    converter = _load("image converter (image_converter.json)", preset,
                      lambda: module.layers.ImageConverter.from_preset(preset))
    converter.image_size = None  # the data pipeline resizes; the converter scales and offsets
    return converter


@keras.saving.register_keras_serializable(package="cnn_backbones")
class HubEncoder(keras.layers.Layer):
    """A keras-hub backbone and its image converter as one layer: images (0..255) → a grid (B, h, w, C).

    Args:
        backbone: a keras-hub ``Backbone`` (or its serialized form, as ``get_config`` writes it).
        converter: its ``ImageConverter`` (or serialized form); its resizing is switched off.
        stage: None for the backbone's output, or the key of one of its ``pyramid_outputs``
            (``"P4"`` for a ResNet's stage 4, ``"stage6"`` for a DINOv2's sixth block).
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        ImportError: without keras-hub (the message says how to install it).
        ValueError: for a ``stage`` the backbone does not have (the message lists those it has), or a
            backbone whose output is neither a grid nor a sequence of patch tokens.

    Examples:
        >>> import keras_hub, numpy as np
        >>> vit = keras_hub.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2,
        ...                                    hidden_dim=16, mlp_dim=32)
        >>> converter = keras_hub.layers.ViTImageConverter(scale=1 / 127.5, offset=-1.0)
        >>> HubEncoder(vit, converter)(np.zeros((2, 32, 32, 3), "float32")).shape  # the class token dropped
        TensorShape([2, 4, 4, 16])
    """

    def __init__(self, backbone, converter, stage=None, **kwargs):
        super().__init__(**kwargs)
        module = keras_hub()
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        if isinstance(converter, dict):
            converter = keras.saving.deserialize_keras_object(converter)
        if not isinstance(backbone, module.models.Backbone):
            raise ValueError(f"backbone must be a keras-hub Backbone, got {type(backbone).__name__}.")
        self._backbone_config = keras.saving.serialize_keras_object(backbone)
        self.stage = stage
        patch = getattr(backbone, "patch_size", None)
        if patch is not None:
            patch = tuple(patch)[:2] if isinstance(patch, (list, tuple)) else (patch, patch)
        self.patch_size = patch
        self.converter = converter
        self.converter.image_size = None
        if stage is None:
            self.features = backbone
        else:
            levels = dict(getattr(backbone, "pyramid_outputs", {}) or {})
            if stage not in levels:
                raise ValueError(f"{type(backbone).__name__} has no stage {stage!r}; its stages: "
                                 f"{', '.join(map(repr, levels)) or 'none (it gives only its output)'}.")
            self.features = keras.Model(backbone.inputs, levels[stage], name=f"{backbone.name}_{stage}")
        self.features.trainable = self.trainable  # a frozen encoder's config says trainable=False before it exists
        self._named_input = isinstance(self.features.input, dict)
        rank = len(self.features.output.shape)
        if rank not in (3, 4) or (rank == 3 and not self.patch_size):
            raise ValueError(f"{type(backbone).__name__} gives outputs of shape {self.features.output.shape}: "
                             "neither a grid (batch, h, w, C) nor patch tokens of a patch_size.")
        self.built = True

    def call(self, images, training=None):
        x = self.converter(ops.cast(images, self.compute_dtype))
        x = self.features({"images": x} if self._named_input else x, training=training)
        if len(x.shape) == 4:
            return x
        rows, columns = images.shape[1] // self.patch_size[0], images.shape[2] // self.patch_size[1]
        patches = x[:, x.shape[1] - rows * columns:, :]  # class and register tokens come first
        return ops.reshape(patches, (-1, rows, columns, x.shape[-1]))

    def compute_output_spec(self, images, training=None):
        return keras.KerasTensor(self._grid_shape(images.shape), dtype=self.compute_dtype)

    def _grid_shape(self, input_shape):
        output = self.features.compute_output_shape(
            {"images": tuple(input_shape)} if self._named_input else tuple(input_shape))
        if len(output) == 4:
            return tuple(output)
        return (input_shape[0], input_shape[1] // self.patch_size[0], input_shape[2] // self.patch_size[1], output[-1])

    def get_config(self):
        return {**super().get_config(), "backbone": self._backbone_config,
                "converter": keras.saving.serialize_keras_object(self.converter), "stage": self.stage}


def hub_backbone(input_shape, preset, stage=None, load_weights=True, name=None):
    """Build the region encoder of keras-hub ``preset``: images (0..255) → a grid (B, h, w, C).

    Args:
        input_shape: (height, width, 3), the images' size; a multiple of a Transformer preset's patch size.
        preset: a keras-hub preset name or the path of a local preset folder (``"hub:"`` optional).
        stage: None for the backbone's output, or one of its ``pyramid_outputs`` keys.
        load_weights: False for random weights (the architecture only).
        name: the model's name; ``hub_<preset's last path part>`` by default.

    Returns:
        A ``keras.Model`` whose one layer ``hub_features`` is a ``HubEncoder``.

    Raises:
        ImportError: without keras-hub.
        ValueError: for a preset that cannot be found or downloaded (the message says how to pass a
            local folder), an image size that is not a multiple of the patch size or that the preset
            cannot take, or a ``stage`` it does not have.

    Examples:
        >>> import keras_hub
        >>> keras_hub.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2,
        ...                              hidden_dim=16, mlp_dim=32).save_to_preset("tiny_vit")
        >>> keras_hub.layers.ViTImageConverter(scale=1 / 127.5, offset=-1.0).save_to_preset("tiny_vit")
        >>> hub_backbone((32, 32, 3), "tiny_vit").output_shape
        (None, 4, 4, 16)
        >>> hub_backbone((30, 30, 3), "tiny_vit")
        Traceback (most recent call last):
        ...
        ValueError: keras-hub preset 'tiny_vit' cuts images into 8×8 patches, so its image size must be a
        multiple of 8×8; got 30×30.
    """
    preset = _preset_of(preset)
    backbone = _load_backbone(preset, tuple(input_shape), load_weights)
    encoder = HubEncoder(backbone, _load_converter(preset), stage=stage, name="hub_features")
    inputs = keras.Input(tuple(input_shape), name="images")
    base = os.path.basename(os.path.normpath(preset)) or "preset"
    return keras.Model(inputs, encoder(inputs), name=name or "hub_" + "".join(c if c.isalnum() else "_" for c in base))


@functools.lru_cache(maxsize=32)
def hub_info(name):
    """What the registry says of ``"hub:PRESET"``: a ``BackboneInfo`` measured on its random-weight build.

    Args:
        name: ``"hub:PRESET"``.

    Returns:
        A ``cnn_backbones.BackboneInfo`` (family ``"hub"``, preprocessing ``"preset"``).

    Raises:
        ImportError: without keras-hub.
        ValueError: for a preset that cannot be found.
    """
    from cnn_backbones.registry import BackboneInfo

    preset = _preset_of(name)
    config = _config(preset)
    arguments = _image_arguments(config)
    own = arguments.get("image_shape") or arguments.get("input_shape") or ()
    size = tuple(own[:2]) if len(own) >= 2 and None not in own[:2] else (224, 224)
    grid = hub_backbone((*size, 3), preset, load_weights=False).output_shape
    kind = config.get("class_name", "Backbone")
    if "vision_encoder" in config.get("config", {}):
        kind += "'s vision encoder"

    def builder(input_shape, stage=None):
        return hub_backbone(input_shape, preset, stage=stage)

    return BackboneInfo(name, "hub", builder, (*size, 3), size[0] // grid[1], grid[-1], "hub_features",
                        preprocessing="preset",
                        description=f"keras-hub {kind} from preset {preset!r}; weights from the preset")
