"""ResNet (He et al., 2016): identity shortcuts around basic blocks (18, 34) or bottlenecks (50+).

Convolutions carry no bias (batch norm follows each), so the parameter counts are the published
ones: a ResNet-18 / 34 classifier with 1000 classes has 11,689,512 / 21,797,672 trainable weights.
Layer names, padding and the stride in the bottleneck's first 1×1 convolution follow
keras.applications, whose ResNet-50/101/152 weights load into ours (their conv biases folded into
the batch norms; see ``pretrained``); those three therefore take keras.applications' "caffe" input.
"""
import keras
from keras import layers

from cnn_backbones.blocks import conv_bn, conv_bn_relu, image_input, imagenet_stem, preprocessing
from cnn_backbones.pretrained import copy_application_weights
from cnn_backbones.registry import register_backbone

__all__ = ["resnet", "resnet20"]


def _shortcut(x, filters, strides, name):
    if strides == 1 and x.shape[-1] == filters:
        return x
    return conv_bn(x, filters, 1, strides, name=f"{name}_0")


def basic_block(x, filters, strides, name):
    """Two 3×3 convolutions and an identity (or 1×1 projection) shortcut."""
    y = conv_bn_relu(x, filters, 3, strides, name=f"{name}_1")
    y = conv_bn(y, filters, 3, 1, name=f"{name}_2")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([_shortcut(x, filters, strides, name), y]))


def bottleneck_block(x, filters, strides, name):
    """1×1 (reduce, with the stride) → 3×3 → 1×1 (expand ×4), and a shortcut."""
    y = conv_bn_relu(x, filters, 1, strides, name=f"{name}_1")
    y = conv_bn_relu(y, filters, 3, 1, name=f"{name}_2")
    y = conv_bn(y, 4 * filters, 1, 1, name=f"{name}_3")
    out = layers.Add(name=f"{name}_add")([_shortcut(x, 4 * filters, strides, name), y])
    return layers.ReLU(name=f"{name}_out")(out)


def resnet(input_shape=(224, 224, 3), block="basic", stages=(2, 2, 2, 2), widths=(64, 128, 256, 512),
           stem="imagenet", feature_stage=None, preprocess="scale", name="resnet"):
    """Build a ResNet feature extractor: images (0..255) → the grid after its last (or ``feature_stage``) stage.

    Stages are named conv2, conv3, … (conv1 is the stem). ``stem="imagenet"``: 7×7/2 conv and 3×3/2
    max pool, the first stage keeps the resolution (stride 32 after conv5, 16 after conv4).
    ``stem="cifar"``: one 3×3 conv and every stage halves the resolution (stride 8 with three stages).

    Args:
        input_shape: (height, width, 3).
        block: ``"basic"`` (two 3×3 convs) or ``"bottleneck"`` (1×1, 3×3, 1×1 with 4× expansion).
        stages: the number of blocks in each stage.
        widths: the channels of each stage (×4 at a bottleneck's output); ``widths[0]`` is also the stem's.
        stem: ``"imagenet"`` or ``"cifar"``.
        feature_stage: the last stage built, the last (None, the default) or the one before it.
        preprocess: the ``ImagePreprocessing`` mode (``"caffe"`` for keras.applications' weights).
        name: the model's name.

    Returns:
        A ``keras.Model`` from images to the grid of stage ``feature_stage``.

    Raises:
        ValueError: when ``feature_stage`` is neither the last stage nor the one before it.

    Examples:
        >>> resnet((224, 224, 3), "basic", (2, 2, 2, 2)).output.shape[1:]
        (7, 7, 512)
        >>> resnet((224, 224, 3), "basic", (2, 2, 2, 2), feature_stage=4).output.shape[1:]
        (14, 14, 256)
    """
    last = len(stages) + 1
    feature_stage = last if feature_stage is None else feature_stage
    if feature_stage not in (last - 1, last):
        raise ValueError(f"feature_stage must be {last - 1} or {last}, got {feature_stage!r}.")
    unit = {"basic": basic_block, "bottleneck": bottleneck_block}[block]
    inputs = image_input(input_shape)
    x = preprocessing(inputs, preprocess)
    if stem == "imagenet":
        x = imagenet_stem(x, widths[0])
    else:
        x = conv_bn_relu(x, widths[0], 3, name="conv1")
    for stage, (width, repeats) in enumerate(zip(widths[: feature_stage - 1], stages), start=2):
        for i in range(repeats):
            downsample = i == 0 and (stage > 2 or stem != "imagenet")
            x = unit(x, width, 2 if downsample else 1, name=f"conv{stage}_block{i + 1}")
    return keras.Model(inputs, x, name=name)


_IMAGENET = {"resnet18": ("basic", (2, 2, 2, 2), None), "resnet34": ("basic", (3, 4, 6, 3), None),
             "resnet50": ("bottleneck", (3, 4, 6, 3), keras.applications.ResNet50),
             "resnet101": ("bottleneck", (3, 4, 23, 3), keras.applications.ResNet101),
             "resnet152": ("bottleneck", (3, 8, 36, 3), keras.applications.ResNet152)}


def _imagenet_variant(name, block, stages, application):
    if application is None:
        def build(input_shape=(224, 224, 3), feature_stage=5):
            return resnet(input_shape, block, stages, feature_stage=feature_stage, name=name)
    else:
        def build(input_shape=(224, 224, 3), feature_stage=5, weights=None):
            model = resnet(input_shape, block, stages, feature_stage=feature_stage, preprocess="caffe", name=name)
            return model if weights is None else copy_application_weights(model, application, weights)

    build.__doc__ = f"{name}: {block} blocks {stages}; feature_stage=4 for a stride-16 grid. See resnet()."
    return build


for _name, (_block, _stages, _application) in _IMAGENET.items():
    _expansion = 4 if _block == "bottleneck" else 1
    register_backbone(_name, _imagenet_variant(_name, _block, _stages, _application), family="resnet",
                      default_input_shape=(224, 224, 3), feature_stride=32, grid_channels=512 * _expansion,
                      feature_layer=f"conv5_block{_stages[-1]}_out", imagenet_weights=_application is not None,
                      preprocessing="caffe" if _application else "scale",
                      description=f"ResNet, {_block} blocks {_stages}; feature_stage=4 for a stride-16 grid")


def resnet20(input_shape=(64, 64, 3)):
    """CIFAR-style ResNet-20 (three stages of three basic blocks, widths 16/32/64), at stride 8.

    He et al.'s CIFAR net keeps the first stage at full resolution (stride 4); here every stage
    halves it, so a 64×64 image gives an 8×8 grid like the other low-resolution backbones.
    Shortcuts that change shape are 1×1 projections (option B), not zero padding.

    Args:
        input_shape: (height, width, 3).

    Returns:
        A ``keras.Model`` named ``resnet20`` from images (0..255) to the feature grid.

    Examples:
        >>> resnet20((64, 64, 3)).output.shape[1:]
        (8, 8, 64)
    """
    return resnet(input_shape, "basic", (3, 3, 3), widths=(16, 32, 64), stem="cifar", name="resnet20")


register_backbone("resnet20", resnet20, family="resnet", default_input_shape=(64, 64, 3), feature_stride=8,
                  grid_channels=64, feature_layer="conv4_block3_out",
                  description="CIFAR-style ResNet-20 for 32–96 px images (stride 8)")
