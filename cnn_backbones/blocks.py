"""Building blocks shared by more than one backbone family.

Each function takes a symbolic Keras tensor and returns the next one, naming its layers after
``name`` (the names keras.applications uses, where a family loads its published weights).

Examples:
    >>> x = image_input((32, 32, 3))
    >>> x = preprocessing(x)
    >>> conv_bn_relu(x, 16, name="conv1").shape
    (None, 32, 32, 16)
"""
import keras
from keras import layers

PREPROCESSING_MODES = ("scale", "caffe", "torch")


@keras.saving.register_keras_serializable(package="cnn_backbones")
class ImagePreprocessing(layers.Layer):
    """Images in 0..255 (RGB) to what a network expects.

    ``"scale"``: to -1..1. ``"caffe"`` and ``"torch"``: keras.applications' own modes (RGB→BGR minus
    the ImageNet mean; /255 minus mean over std), for the families whose published weights expect them.

    Args:
        mode: one of ``PREPROCESSING_MODES``: ``"scale"`` (default), ``"caffe"`` or ``"torch"``.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, …).

    Raises:
        ValueError: when ``mode`` is not one of ``PREPROCESSING_MODES``.

    Examples:
        >>> import numpy as np
        >>> np.asarray(ImagePreprocessing("scale")(np.array([[0.0, 127.5, 255.0]])))
        array([[-1.,  0.,  1.]], dtype=float32)
        >>> np.asarray(ImagePreprocessing("caffe")(np.full((1, 3), 255.0))).round(2)  # BGR minus the mean
        array([[151.06, 138.22, 131.32]], dtype=float32)
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
    """Apply an ``ImagePreprocessing`` layer to ``x``: the first layer of every backbone.

    Args:
        x: a symbolic tensor of images in 0..255, (batch, height, width, 3).
        mode: ``"scale"``, ``"caffe"`` or ``"torch"`` (see ``ImagePreprocessing``).
        name: the layer's name.

    Returns:
        The preprocessed tensor, of the same shape.

    Examples:
        >>> preprocessing(image_input((32, 32, 3)), "torch").shape
        (None, 32, 32, 3)
    """
    return ImagePreprocessing(mode, name=name)(x)


def _named(prefix, part):
    """``{prefix}_{part}``, or None (a name Keras makes unique) without a prefix."""
    return f"{prefix}_{part}" if prefix else None


def conv_bn(x, filters, kernel_size=3, strides=1, padding="same", name=None):
    """Convolution without bias (batch norm has the offset), then batch norm.

    Args:
        x: a symbolic tensor (batch, height, width, channels).
        filters: the convolution's output channels.
        kernel_size: its kernel size.
        strides: its strides.
        padding: ``"same"`` or ``"valid"``.
        name: the prefix of the layers' names, ``{name}_conv`` and ``{name}_bn``; None: Keras names them.

    Returns:
        The batch norm's output tensor.

    Examples:
        >>> conv_bn(image_input((32, 32, 3)), 16, strides=2, name="stem").shape
        (None, 16, 16, 16)
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                      kernel_initializer="he_normal", name=_named(name, "conv"))(x)
    return layers.BatchNormalization(epsilon=1.001e-5, name=_named(name, "bn"))(x)


def conv_bn_relu(x, filters, kernel_size=3, strides=1, padding="same", name=None):
    """Convolution without bias, batch norm, ReLU: the unit most families are made of.

    Args:
        x: a symbolic tensor (batch, height, width, channels).
        filters: the convolution's output channels.
        kernel_size: its kernel size.
        strides: its strides.
        padding: ``"same"`` or ``"valid"``.
        name: the prefix of the layers' names, ``{name}_conv``, ``{name}_bn`` and ``{name}_relu``;
            None: Keras names them.

    Returns:
        The ReLU's output tensor.

    Examples:
        >>> x = conv_bn_relu(image_input((32, 32, 3)), 8, 7, 2, padding="valid", name="conv1")
        >>> x.shape
        (None, 13, 13, 8)
    """
    return layers.ReLU(name=_named(name, "relu"))(conv_bn(x, filters, kernel_size, strides, padding, name))


def bn_relu_conv(x, filters, kernel_size, name, conv_name=None):
    """Pre-activation unit (DenseNet): batch norm, ReLU, then a bias-free convolution.

    Args:
        x: a symbolic tensor (batch, height, width, channels).
        filters: the convolution's output channels.
        kernel_size: its kernel size ("same" padding, stride 1).
        name: the prefix of the layers' names, ``{name}_bn``, ``{name}_relu`` and ``{name}_conv``.
        conv_name: the convolution's name instead of ``{name}_conv`` (keras.applications' DenseNet
            numbers its convolutions apart from its batch norms).

    Returns:
        The convolution's output tensor.

    Examples:
        >>> bn_relu_conv(image_input((32, 32, 3)), 12, 3, name="unit").shape
        (None, 32, 32, 12)
    """
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, kernel_initializer="he_normal",
                         name=conv_name or f"{name}_conv")(x)


def imagenet_stem(x, filters=64, name="conv1"):
    """7×7/2 conv-BN-ReLU then 3×3/2 max pool, padded as keras.applications and torchvision pad (3, 1).

    Args:
        x: a symbolic tensor of preprocessed images (batch, height, width, 3).
        filters: the convolution's output channels.
        name: the prefix of the convolution's layers; the pooling layers are ``pool1_pad`` and ``pool1``.

    Returns:
        The pooled tensor, at stride 4.

    Examples:
        >>> imagenet_stem(image_input((64, 64, 3))).shape
        (None, 16, 16, 64)
    """
    x = layers.ZeroPadding2D(3, name=f"{name}_pad")(x)
    x = conv_bn_relu(x, filters, 7, 2, padding="valid", name=name)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)  # after a ReLU, zero padding is -inf padding for max
    return layers.MaxPooling2D(3, 2, name="pool1")(x)


def image_input(input_shape, name="images"):
    """The ``keras.Input`` of a backbone: a batch of images of ``input_shape``.

    Args:
        input_shape: (height, width, channels), a tuple or a list.
        name: the input's name.

    Returns:
        A symbolic tensor of shape (None, height, width, channels).

    Examples:
        >>> image_input([64, 64, 3]).shape
        (None, 64, 64, 3)
    """
    return keras.Input(shape=tuple(input_shape), name=name)
