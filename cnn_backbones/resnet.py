"""ResNet (He et al., 2016): identity shortcuts around basic blocks (18, 34) or bottlenecks (50+).

Convolutions carry no bias (batch norm follows each), so the parameter counts are the published
ones: a ResNet-18 / 34 classifier with 1000 classes has 11,689,512 / 21,797,672 trainable weights.
In bottlenecks the stride sits in the first 1×1 convolution, as in keras.applications.
"""
import keras
from keras import layers

from cnn_backbones.blocks import conv_bn, conv_bn_relu, image_input, preprocessing
from cnn_backbones.registry import register_backbone

WIDTHS = (64, 128, 256, 512)


def _shortcut(x, filters, strides, name):
    if strides == 1 and x.shape[-1] == filters:
        return x
    return conv_bn(x, filters, 1, strides, name=f"{name}_shortcut")


def basic_block(x, filters, strides, name):
    """Two 3×3 convolutions and an identity (or 1×1 projection) shortcut."""
    y = conv_bn_relu(x, filters, 3, strides, name=f"{name}_1")
    y = conv_bn(y, filters, 3, 1, name=f"{name}_2")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([_shortcut(x, filters, strides, name), y]))


def bottleneck_block(x, filters, strides, name):
    """1×1 (reduce) → 3×3 → 1×1 (expand ×4), and a shortcut."""
    y = conv_bn_relu(x, filters, 1, strides, name=f"{name}_1")
    y = conv_bn_relu(y, filters, 3, 1, name=f"{name}_2")
    y = conv_bn(y, 4 * filters, 1, 1, name=f"{name}_3")
    out = layers.Add(name=f"{name}_add")([_shortcut(x, 4 * filters, strides, name), y])
    return layers.ReLU(name=f"{name}_out")(out)


def resnet(input_shape=(224, 224, 3), block="basic", stages=(2, 2, 2, 2), feature_stage=5, name="resnet"):
    """Build a ResNet feature extractor: images (0..255) → the grid after stage ``feature_stage``.

    ``feature_stage=5`` (default) gives stride 32 (7×7 at 224); ``feature_stage=4`` stops after
    stage 4 for a finer grid (14×14 at 224), as the captioning papers often do.

    >>> resnet((224, 224, 3), "basic", (2, 2, 2, 2)).output.shape[1:]
    (7, 7, 512)
    """
    if feature_stage not in (4, 5):
        raise ValueError(f"feature_stage must be 4 or 5, got {feature_stage!r}.")
    unit = {"basic": basic_block, "bottleneck": bottleneck_block}[block]
    inputs = image_input(input_shape)
    x = preprocessing(inputs)
    x = conv_bn_relu(x, 64, 7, 2, name="stem")
    x = layers.MaxPooling2D(3, 2, padding="same", name="stem_pool")(x)
    for stage, (width, repeats) in enumerate(zip(WIDTHS[: feature_stage - 1], stages), start=2):
        for i in range(repeats):
            x = unit(x, width, 2 if i == 0 and stage > 2 else 1, name=f"conv{stage}_block{i + 1}")
    return keras.Model(inputs, x, name=name)


_VARIANTS = {"resnet18": ("basic", (2, 2, 2, 2)), "resnet34": ("basic", (3, 4, 6, 3)),
             "resnet50": ("bottleneck", (3, 4, 6, 3)), "resnet101": ("bottleneck", (3, 4, 23, 3)),
             "resnet152": ("bottleneck", (3, 8, 36, 3))}


def _variant(name, block, stages):
    def build(input_shape=(224, 224, 3), feature_stage=5):
        return resnet(input_shape, block, stages, feature_stage, name=name)

    build.__doc__ = f"{name}: {block} blocks {stages}; see resnet()."
    return build


for _name, (_block, _stages) in _VARIANTS.items():
    _expansion = 4 if _block == "bottleneck" else 1
    register_backbone(_name, _variant(_name, _block, _stages), family="resnet", default_input_shape=(224, 224, 3),
                      feature_stride=32, grid_channels=512 * _expansion,
                      feature_layer=f"conv5_block{_stages[-1]}_out",
                      description=f"ResNet, {_block} blocks {_stages}; feature_stage=4 for a stride-16 grid")
