"""DenseNet-BC (Huang et al., 2017): each layer's output is concatenated to all later ones.

A dense layer is BN-ReLU-1×1 conv (to 4k channels, the bottleneck) then BN-ReLU-3×3 conv (k, the
growth rate); a transition is BN-ReLU-1×1 conv (compressing the channels by ``compression``) and
2×2 average pooling. Layer names follow keras.applications, so its DenseNet-121/169/201 weights load
into ours (with its "torch" preprocessing); with growth 32 and compression 0.5 the architecture is
keras.applications' own (a test checks the outputs match).
"""
import keras
from keras import layers

from cnn_backbones.blocks import bn_relu_conv, conv_bn_relu, image_input, imagenet_stem, preprocessing
from cnn_backbones.pretrained import copy_application_weights
from cnn_backbones.registry import register_backbone

__all__ = ["SMALL_BLOCKS", "densenet", "small_densenet"]


def dense_block(x, repeats, growth_rate, name):
    for i in range(repeats):
        unit = f"{name}_block{i + 1}"  # keras.applications' names: _0_bn, _1_conv, _1_bn, _2_conv
        y = bn_relu_conv(x, 4 * growth_rate, 1, name=f"{unit}_0", conv_name=f"{unit}_1_conv")
        y = bn_relu_conv(y, growth_rate, 3, name=f"{unit}_1", conv_name=f"{unit}_2_conv")
        x = layers.Concatenate(name=f"{name}_block{i + 1}_concat")([x, y])
    return x


def transition(x, compression, name):
    x = bn_relu_conv(x, int(x.shape[-1] * compression), 1, name=name)
    return layers.AveragePooling2D(2, 2, name=f"{name}_pool")(x)


def densenet(input_shape=(224, 224, 3), blocks=(6, 12, 24, 16), growth_rate=32, compression=0.5,
             stem="imagenet", preprocess="torch", name="densenet"):
    """Build a DenseNet-BC feature extractor: images (0..255) → the grid after the last block's BN-ReLU.

    ``stem="imagenet"``: 7×7/2 conv (2k channels) and 3×3/2 max pool, then the blocks with a
    transition between each (stride 32 with four blocks). ``stem="small"``: a 3×3 conv and a 2×2
    max pool (stride 8 with three blocks). The defaults build DenseNet-121 (7×7×1024 at 224).

    Args:
        input_shape: (height, width, 3).
        blocks: the number of dense layers in each block.
        growth_rate: k, the channels each dense layer adds.
        compression: the share of channels a transition keeps, in (0, 1].
        stem: ``"imagenet"`` or ``"small"``.
        preprocess: the ``ImagePreprocessing`` mode (``"torch"`` for keras.applications' weights).
        name: the model's name.

    Returns:
        A ``keras.Model`` from images to the feature grid (batch, h, w, channels).

    Raises:
        ValueError: when ``compression`` is not in (0, 1] or ``growth_rate`` is not a positive integer.

    Examples:
        >>> densenet((224, 224, 3), blocks=(2, 2, 2, 2)).output.shape[1:]
        (7, 7, 128)
    """
    if not 0 < compression <= 1:
        raise ValueError(f"compression must be in (0, 1], got {compression!r}.")
    if not isinstance(growth_rate, int) or growth_rate < 1:
        raise ValueError(f"growth_rate must be a positive integer, got {growth_rate!r}.")
    inputs = image_input(input_shape)
    x = preprocessing(inputs, preprocess)
    if stem == "imagenet":
        x = imagenet_stem(x, 2 * growth_rate)
    else:
        x = conv_bn_relu(x, 2 * growth_rate, 3, name="conv1")
        x = layers.MaxPooling2D(2, name="pool1")(x)
    for i, repeats in enumerate(blocks):
        x = dense_block(x, repeats, growth_rate, name=f"conv{i + 2}")
        if i + 1 < len(blocks):
            x = transition(x, compression, name=f"pool{i + 2}")
    x = layers.BatchNormalization(epsilon=1.001e-5, name="bn")(x)
    return keras.Model(inputs, layers.ReLU(name="relu")(x), name=name)


def grid_channels(blocks, growth_rate, compression):
    channels = 2 * growth_rate
    for i, repeats in enumerate(blocks):
        channels += repeats * growth_rate
        if i + 1 < len(blocks):
            channels = int(channels * compression)
    return channels


_IMAGENET = {"densenet121": ((6, 12, 24, 16), keras.applications.DenseNet121),
             "densenet169": ((6, 12, 32, 32), keras.applications.DenseNet169),
             "densenet201": ((6, 12, 48, 32), keras.applications.DenseNet201)}


def _imagenet_variant(name, blocks, application):
    def build(input_shape=(224, 224, 3), growth_rate=32, compression=0.5, weights=None):
        if weights is not None and (growth_rate, compression) != (32, 0.5):
            raise ValueError(f"{name}'s published weights are for growth_rate=32, compression=0.5.")
        model = densenet(input_shape, blocks, growth_rate, compression, name=name)
        return model if weights is None else copy_application_weights(model, application, weights)

    build.__doc__ = f"{name}: DenseNet-BC blocks {blocks}. See densenet()."
    return build


for _name, (_blocks, _application) in _IMAGENET.items():
    register_backbone(_name, _imagenet_variant(_name, _blocks, _application), family="densenet",
                      default_input_shape=(224, 224, 3), feature_stride=32,
                      grid_channels=grid_channels(_blocks, 32, 0.5), feature_layer="relu", imagenet_weights=True,
                      preprocessing="torch", description=f"DenseNet-BC, blocks {_blocks}, growth 32, compression 0.5")

SMALL_BLOCKS = (6, 6, 6)


def small_densenet(input_shape=(64, 64, 3), growth_rate=12, compression=0.5):
    """DenseNet-BC with three blocks of six dense layers, growth 12, for 32–96 px images (stride 8).

    Args:
        input_shape: (height, width, 3).
        growth_rate: k, the channels each dense layer adds.
        compression: the share of channels a transition keeps, in (0, 1].

    Returns:
        A ``keras.Model`` named ``small_densenet`` from images (0..255) to the feature grid.

    Examples:
        >>> small_densenet((64, 64, 3)).output.shape[1:]
        (8, 8, 132)
    """
    return densenet(input_shape, SMALL_BLOCKS, growth_rate, compression, stem="small", preprocess="scale",
                    name="small_densenet")


register_backbone("small_densenet", small_densenet, family="densenet", default_input_shape=(64, 64, 3),
                  feature_stride=8, grid_channels=grid_channels(SMALL_BLOCKS, 12, 0.5), feature_layer="relu",
                  description="DenseNet-BC (6, 6, 6), growth 12, for 32–96 px images (stride 8)")
