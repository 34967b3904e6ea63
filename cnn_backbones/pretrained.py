"""Published keras.applications weights for our models: download through Keras' cache, or a local file.

``weights="imagenet"`` lets keras.applications fetch its file (into ``~/.keras/models``); a path is
a weights file of the matching keras.applications model (``include_top=False``). The application is
built once as a donor and its weights are copied into our model layer by layer, by name. Where the
application's convolution has a bias and ours, followed by batch norm, has none, the bias is folded
into the batch norm's moving mean (BN(conv(x) + b) with mean μ equals BN(conv(x)) with mean μ − b,
in inference and training alike), so the outputs are the application's.
"""
import os

import numpy as np

__all__ = ["copy_application_weights"]


def check_weights_argument(name, weights):
    """None, "imagenet" or an existing file; a ValueError names the value otherwise."""
    if weights is None or weights == "imagenet":
        return
    if not isinstance(weights, (str, os.PathLike)) or not os.path.isfile(weights):
        raise ValueError(f"weights for backbone {name!r} must be None, 'imagenet' or the path of a weights "
                         f"file; no file at {weights!r}.")


def build_application(application, weights, input_shape, **kwargs):
    """keras.applications' model (without top); a clear error when its weights cannot be had."""
    weights = None if weights is None else os.fspath(weights) if weights != "imagenet" else weights
    try:
        return application(include_top=False, weights=weights, input_shape=tuple(input_shape), **kwargs)
    except (OSError, ValueError) as error:  # no network, a file of another model, …
        source = "ImageNet weights from keras.applications" if weights == "imagenet" else f"weights file {weights!r}"
        raise ValueError(f"Could not load {source} into {application.__name__}(include_top=False): {error}") from error
    except Exception as error:  # urllib and http errors of the download
        if weights != "imagenet":
            raise
        raise ValueError(f"Could not download the ImageNet weights of {application.__name__} ({error}). "
                         "Download them once where there is internet (they are cached in ~/.keras/models) "
                         "or pass weights=<path of the .h5 file>.") from error


def copy_application_weights(model, application, weights):
    """Load ``weights`` of keras.applications' ``application`` into ``model`` (same layer names).

    Layers of the application that ``model`` lacks (beyond its feature layer) are left out; a
    convolution bias that ``model`` lacks is folded into the batch norm named like it
    (``…_conv`` → ``…_bn``).

    Args:
        model: a ``keras.Model`` whose layers carry the application's names.
        application: a keras.applications constructor (such as ``keras.applications.ResNet50``), or
            any callable taking ``include_top``, ``weights`` and ``input_shape`` that returns the donor model.
        weights: ``"imagenet"`` (downloaded once into Keras' cache) or the path of a weights file of
            the application without its top.

    Returns:
        ``model``, its weights replaced.

    Raises:
        ValueError: when no layer of the application matches one of ``model`` (and, from building the
            donor, when its weights cannot be downloaded or do not fit it).

    Examples:
        >>> import keras, numpy as np
        >>> from cnn_backbones.blocks import conv_bn, image_input
        >>> def application(include_top, weights, input_shape):  # stands in for keras.applications.ResNet50
        ...     inputs = keras.Input(input_shape)
        ...     x = keras.layers.Conv2D(4, 3, name="c1_conv")(inputs)  # with a bias, then batch norm
        ...     model = keras.Model(inputs, keras.layers.BatchNormalization(epsilon=1.001e-5, name="c1_bn")(x))
        ...     if weights is not None:
        ...         model.load_weights(weights)
        ...     return model
        >>> donor = application(False, None, (8, 8, 3))
        >>> donor.get_layer("c1_conv").set_weights([np.ones((3, 3, 3, 4)) / 27, np.ones(4)])  # a bias of 1
        >>> donor.save_weights("donor.weights.h5")
        >>> inputs = image_input((8, 8, 3))
        >>> ours = keras.Model(inputs, conv_bn(inputs, 4, padding="valid", name="c1"))  # no bias
        >>> ours = copy_application_weights(ours, application, "donor.weights.h5")
        >>> x = np.random.rand(1, 8, 8, 3).astype("float32")
        >>> np.allclose(ours(x), donor(x), atol=1e-5)  # the bias is in the batch norm's mean
        True
    """
    donor = build_application(application, weights, model.input_shape[1:])
    copied, folded = 0, {}
    for source in donor.layers:
        if not source.weights:
            continue
        try:
            target = model.get_layer(source.name)
        except ValueError:
            continue  # beyond our feature layer (e.g. stage 5 when the grid comes from stage 4)
        values = [np.asarray(w) for w in source.get_weights()]
        if source.__class__.__name__ == "Conv2D" and len(values) == 2 and not target.use_bias:
            folded[source.name[: -len("conv")] + "bn"] = values.pop()
        target.set_weights(values)
        copied += 1
    for bn_name, bias in folded.items():  # after the batch norms themselves were copied
        bn = model.get_layer(bn_name)
        gamma, beta, mean, variance = bn.get_weights()
        bn.set_weights([gamma, beta, mean - bias, variance])
    if copied == 0:
        raise ValueError(f"No layer of {application.__name__} matched the model {model.name!r}.")
    return model
