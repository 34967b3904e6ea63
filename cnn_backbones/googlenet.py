"""GoogLeNet (Inception v1, Szegedy et al., 2015) with the paper's true 5×5 branches.

Every convolution is conv-BN-ReLU (bias-free), as in torchvision's GoogLeNet, instead of the
paper's plain conv-ReLU and local response normalisation. ``branch5_kernel=3`` gives torchvision's
layout (its "5×5" branch is a 3×3): its classifier has torchvision's 6,624,904 parameters.
The auxiliary classifiers hang from 4a and 4d (``create_classifier(..., aux_heads=True)``).
"""
import keras
from keras import layers

from cnn_backbones.blocks import conv_bn_relu, image_input, preprocessing
from cnn_backbones.registry import register_backbone

# module: (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool proj); None marks a 3×3/2 max pool
LAYOUT = (("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), None,
          ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
          ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
          ("4e", (256, 160, 320, 32, 128, 128)), None,
          ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128)))
AUX_LAYERS = ("inception_4a", "inception_4d")

__all__ = ["AUX_LAYERS", "LAYOUT", "googlenet", "small_googlenet"]


def inception_module(x, widths, branch5_kernel, name):
    """Four parallel branches (1×1; 1×1→3×3; 1×1→5×5; 3×3 max pool→1×1), concatenated."""
    c1, r3, c3, r5, c5, pool_proj = widths
    b1 = conv_bn_relu(x, c1, 1, name=f"{name}_1x1")
    b3 = conv_bn_relu(conv_bn_relu(x, r3, 1, name=f"{name}_3x3_reduce"), c3, 3, name=f"{name}_3x3")
    b5 = conv_bn_relu(conv_bn_relu(x, r5, 1, name=f"{name}_5x5_reduce"), c5, branch5_kernel, name=f"{name}_5x5")
    bp = layers.MaxPooling2D(3, 1, padding="same", name=f"{name}_pool")(x)
    bp = conv_bn_relu(bp, pool_proj, 1, name=f"{name}_pool_proj")
    return layers.Concatenate(name=name)([b1, b3, b5, bp])


def googlenet(input_shape=(224, 224, 3), feature_module="5b", branch5_kernel=5, width=1.0, stem="imagenet",
              name="googlenet"):
    """Build a GoogLeNet feature extractor: images (0..255) → the output of inception ``feature_module``.

    ``feature_module="5b"`` (default): 7×7×1024 at 224; ``"4e"``: the finer 14×14×832 grid.
    ``width`` scales every module's widths. ``stem="imagenet"``: 7×7/2 conv, 3×3/2 pool, 1×1 and
    3×3 convs, 3×3/2 pool (stride 8 before 3a, 32 at 5b). ``stem="small"``: 3×3 convs and 2×2 pools
    (stride 4 before 3a) and no pool between 4e and 5a, so the whole net has stride 8.

    Args:
        input_shape: (height, width, 3).
        feature_module: ``"5b"`` (the last module) or ``"4e"`` (a grid twice as fine).
        branch5_kernel: 5 (the paper's 5×5 branch) or 3 (torchvision's layout).
        width: the factor on every module's widths (at least 4 channels each).
        stem: ``"imagenet"`` or ``"small"``.
        name: the model's name.

    Returns:
        A ``keras.Model`` from images to the output of inception ``feature_module``.

    Raises:
        ValueError: when ``feature_module`` is not ``"5b"`` or ``"4e"``, or ``branch5_kernel`` not 5 or 3.

    Examples:
        >>> googlenet((224, 224, 3), feature_module="4e", width=0.25).output.shape[1:]
        (14, 14, 208)
    """
    if feature_module not in ("4e", "5b"):
        raise ValueError(f"feature_module must be '5b' or '4e', got {feature_module!r}.")
    if branch5_kernel not in (3, 5):
        raise ValueError(f"branch5_kernel must be 5 (the paper) or 3 (torchvision), got {branch5_kernel!r}.")

    def scaled(n):
        return max(4, int(round(n * width)))

    inputs = image_input(input_shape)
    x = preprocessing(inputs)
    if stem == "imagenet":
        x = conv_bn_relu(x, scaled(64), 7, 2, name="conv1")
        x = layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
        x = conv_bn_relu(x, scaled(64), 1, name="conv2_reduce")
        x = conv_bn_relu(x, scaled(192), 3, name="conv2")
        x = layers.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    else:
        x = conv_bn_relu(x, scaled(64), 3, name="conv1")
        x = layers.MaxPooling2D(2, name="pool1")(x)
        x = conv_bn_relu(x, scaled(192), 3, name="conv2")
        x = layers.MaxPooling2D(2, name="pool2")(x)
    pools = 3
    for entry in LAYOUT:
        if entry is None:
            if stem == "imagenet" or pools == 3:
                x = layers.MaxPooling2D(3, 2, padding="same", name=f"pool{pools}")(x)
            pools += 1
            continue
        module, widths = entry
        x = inception_module(x, [scaled(w) for w in widths], branch5_kernel, name=f"inception_{module}")
        if module == feature_module:
            break
    return keras.Model(inputs, x, name=name)


def _googlenet(input_shape=(224, 224, 3), feature_module="5b", branch5_kernel=5):
    return googlenet(input_shape, feature_module, branch5_kernel)


def small_googlenet(input_shape=(64, 64, 3), feature_module="5b", branch5_kernel=5):
    """GoogLeNet at a quarter of the widths with a small stem, for 32–96 px images (stride 8: 8×8 at 64).

    Args:
        input_shape: (height, width, 3); at least 40×40 for the auxiliary heads.
        feature_module: ``"5b"`` or ``"4e"``.
        branch5_kernel: 5 (the paper's 5×5 branch) or 3 (torchvision's layout).

    Returns:
        A ``keras.Model`` named ``small_googlenet`` from images (0..255) to the feature grid.

    Examples:
        >>> small_googlenet((64, 64, 3)).output.shape[1:]
        (8, 8, 256)
    """
    return googlenet(input_shape, feature_module, branch5_kernel, width=0.25, stem="small", name="small_googlenet")


_googlenet.__doc__ = googlenet.__doc__
register_backbone("googlenet", _googlenet, family="googlenet", default_input_shape=(224, 224, 3), feature_stride=32,
                  grid_channels=1024, feature_layer="inception_5b", aux_layers=AUX_LAYERS,
                  description="Inception v1 with true 5×5 branches; feature_module='4e' for a 14×14×832 grid")
register_backbone("small_googlenet", small_googlenet, family="googlenet", default_input_shape=(64, 64, 3),
                  feature_stride=8, grid_channels=256, feature_layer="inception_5b", aux_layers=AUX_LAYERS,
                  description="GoogLeNet at width 0.25 with a small stem, for 32–96 px images (stride 8)")
