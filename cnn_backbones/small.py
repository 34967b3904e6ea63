"""Low-resolution backbones for 32–96 px images, small enough to train from scratch on a CPU."""
import keras
from keras import layers

from cnn_backbones.blocks import conv_bn_relu, image_input, preprocessing
from cnn_backbones.registry import register_backbone


def small_vgg(input_shape=(64, 64, 3), widths=(16, 32, 64), name="small_vgg"):
    """A VGG-style net: three 3×3 conv-BN-ReLU units, each followed by a 2×2 max pool (stride 8),
    then a 1×1 conv-BN-ReLU.

    Its receptive field is 22 px, about one cell of a 64 px image's 8×8 grid, so each region's
    feature describes that region (not the whole image) and attention has to find the object.

    >>> small_vgg((64, 64, 3)).output.shape[1:]
    (8, 8, 64)
    """
    inputs = image_input(input_shape)
    x = preprocessing(inputs)
    for stage, width in enumerate(widths, start=1):
        x = conv_bn_relu(x, width, name=f"block{stage}")
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = conv_bn_relu(x, widths[-1], kernel_size=1, name="features")
    return keras.Model(inputs, x, name=name)


register_backbone("small_vgg", small_vgg, family="vgg", default_input_shape=(64, 64, 3), feature_stride=8,
                  grid_channels=64, feature_layer="features_relu",
                  description="VGG-style net for 32–96 px images: 3 conv+pool stages, 22 px receptive field")
