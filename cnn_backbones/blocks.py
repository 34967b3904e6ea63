"""Building blocks shared by more than one backbone family."""
import keras
from keras import layers

PREPROCESSING_MODES = ("scale", "caffe", "torch")


@keras.saving.register_keras_serializable(package="cnn_backbones")
class ImagePreprocessing(layers.Layer):
    """Images in 0..255 (RGB) to what a network expects.

    ``"scale"``: to -1..1. ``"caffe"`` and ``"torch"``: keras.applications' own modes (RGB→BGR minus
    the ImageNet mean; /255 minus mean over std), for the families whose published weights expect them.
    """

    def __init__(self, mode="scale", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"Unknown preprocessing mode {mode!r}; accepted: {', '.join(PREPROCESSING_MODES)}.")
        self.mode = mode

    def call(self, images):
        if self.mode == "scale":
            return images / 127.5 - 1.0
        return keras.applications.imagenet_utils.preprocess_input(images, mode=self.mode)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def preprocessing(x, mode="scale", name="preprocess"):
    return ImagePreprocessing(mode, name=name)(x)


def conv_bn(x, filters, kernel_size=3, strides=1, padding="same", name=None):
    """Convolution without bias (batch norm has the offset), then batch norm."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv")(x)
    return layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)


def conv_bn_relu(x, filters, kernel_size=3, strides=1, padding="same", name=None):
    """Convolution without bias, batch norm, ReLU: the unit most families are made of."""
    return layers.ReLU(name=f"{name}_relu")(conv_bn(x, filters, kernel_size, strides, padding, name))


def bn_relu_conv(x, filters, kernel_size, name, conv_name=None):
    """Pre-activation unit (DenseNet): batch norm, ReLU, then a bias-free convolution."""
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, kernel_initializer="he_normal",
                         name=conv_name or f"{name}_conv")(x)


def imagenet_stem(x, filters=64, name="conv1"):
    """7×7/2 conv-BN-ReLU then 3×3/2 max pool, padded as keras.applications and torchvision pad (3, 1)."""
    x = layers.ZeroPadding2D(3, name=f"{name}_pad")(x)
    x = conv_bn_relu(x, filters, 7, 2, padding="valid", name=name)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)  # after a ReLU, zero padding is -inf padding for max
    return layers.MaxPooling2D(3, 2, name="pool1")(x)


def image_input(input_shape, name="images"):
    return keras.Input(shape=tuple(input_shape), name=name)
