"""Building blocks shared by more than one backbone family."""
import keras
from keras import layers


def preprocessing(x, scale=1 / 127.5, offset=-1.0, name="preprocess"):
    """Images in 0..255 to the range a network expects (default: -1..1)."""
    return layers.Rescaling(scale, offset, name=name)(x)


def conv_bn(x, filters, kernel_size=3, strides=1, name=None):
    """Convolution without bias (batch norm has the offset), then batch norm."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv")(x)
    return layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)


def conv_bn_relu(x, filters, kernel_size=3, strides=1, name=None):
    """Convolution without bias, batch norm, ReLU: the unit most families are made of."""
    return layers.ReLU(name=f"{name}_relu")(conv_bn(x, filters, kernel_size, strides, name))


def image_input(input_shape, name="images"):
    return keras.Input(shape=tuple(input_shape), name=name)
