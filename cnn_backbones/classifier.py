"""Any registered backbone as an image classifier, with GoogLeNet's auxiliary heads when asked.

Examples:
    >>> model = create_classifier("small_googlenet", 10, aux_heads=True)
    >>> sorted(model.output)          # a dict of logits while training
    ['aux1', 'aux2', 'logits']
    >>> inference_model(model).output_shape  # the main head only, same weights
    (None, 10)
"""
import keras
from keras import layers

from cnn_backbones.blocks import conv_bn_relu
from cnn_backbones.registry import backbone_info, create_backbone, list_backbones

__all__ = ["AUX_LOSS_WEIGHT", "classifier_compile_args", "classifier_targets", "create_classifier", "inference_model"]

AUX_LOSS_WEIGHT = 0.3


def auxiliary_head(x, num_classes, name):
    """GoogLeNet's auxiliary classifier: avg pool 5×5/3, 1×1 conv 128, FC 1024, dropout 0.7, FC."""
    if min(x.shape[1:3]) < 5:
        raise ValueError(f"The auxiliary head {name!r} needs a grid of at least 5×5 at its layer, got "
                         f"{tuple(x.shape[1:3])}; use larger images (e.g. 64×64 for small_googlenet, "
                         "224×224 for googlenet).")
    x = layers.AveragePooling2D(5, 3, name=f"{name}_pool")(x)
    x = conv_bn_relu(x, 128, 1, name=f"{name}_proj")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, name=name)(x)


def create_classifier(name, num_classes, input_shape=None, aux_heads=False, dropout=0.0, weights=None, **options):
    """Backbone ``name`` → global average pooling → dropout → a dense layer of ``num_classes`` logits.

    With ``aux_heads=True`` (backbones with auxiliary layers: the GoogLeNets) the model returns a dict
    ``{"logits", "aux1", "aux2"}``; compile it with ``classifier_compile_args(model)`` (aux losses
    weighted 0.3 each), fit it with ``classifier_targets(model, labels)``, and predict with
    ``inference_model(model)``. GoogLeNet's paper uses ``dropout=0.4`` before the main head.

    Args:
        name: a registered backbone (``list_backbones()``).
        num_classes: the number of classes, a positive integer.
        input_shape: (height, width, 3); None for the backbone's default.
        aux_heads: add GoogLeNet's auxiliary classifiers (only backbones with ``aux_layers``).
        dropout: the dropout rate before the main head (0: none).
        weights: None, ``"imagenet"`` or a weights file, as for ``create_backbone``.
        **options: the backbone's own options (``backbone_options(name)``).

    Returns:
        A ``keras.Model`` from images (0..255) to logits, or to a dict ``{"logits", "aux1", "aux2"}``
        of logits with ``aux_heads=True``.

    Raises:
        ValueError: when ``num_classes`` is not a positive integer or the backbone has no auxiliary
            heads to add (and, from ``create_backbone``, for an unknown name, option or weights).

    Examples:
        >>> import numpy as np
        >>> model = create_classifier("resnet18", 1000)
        >>> sum(int(np.prod(w.shape)) for w in model.trainable_weights)  # the published count
        11689512
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")
    info = backbone_info(name)
    if aux_heads and not info.aux_layers:
        with_heads = [n for n in list_backbones() if backbone_info(n).aux_layers]
        raise ValueError(f"Backbone {name!r} has no auxiliary heads; these do: {', '.join(with_heads)}.")
    backbone = create_backbone(name, input_shape=input_shape, weights=weights, **options)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(backbone.output)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    if not aux_heads:
        return keras.Model(backbone.input, logits, name=f"{name}_classifier")
    outputs = {"logits": logits}
    for i, layer_name in enumerate(info.aux_layers, start=1):
        outputs[f"aux{i}"] = auxiliary_head(backbone.get_layer(layer_name).output, num_classes, f"aux{i}")
    return keras.Model(backbone.input, outputs, name=f"{name}_classifier")


def _output_names(model):
    return sorted(model.output) if isinstance(model.output, dict) else []


def classifier_compile_args(model, aux_weight=AUX_LOSS_WEIGHT):
    """The ``loss``, ``loss_weights`` and ``metrics`` arguments of ``model.compile`` for a classifier.

    Sparse categorical cross-entropy on logits, accuracy of the main head; with auxiliary heads,
    one loss per head, the auxiliary ones weighted ``aux_weight`` (0.3, the paper's).

    Args:
        model: a model made by ``create_classifier``.
        aux_weight: the weight of each auxiliary head's loss (the main head's is 1).

    Returns:
        A dict of keyword arguments for ``model.compile`` (``loss_weights`` only with auxiliary heads).

    Examples:
        >>> model = create_classifier("small_googlenet", 10, input_shape=(40, 40, 3), aux_heads=True)
        >>> arguments = classifier_compile_args(model)
        >>> arguments["loss_weights"]
        {'aux1': 0.3, 'aux2': 0.3, 'logits': 1.0}
        >>> model.compile(optimizer="adam", **arguments)
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    names = _output_names(model)
    if not names:
        return {"loss": loss, "metrics": ["accuracy"]}
    return {"loss": {n: loss for n in names},
            "loss_weights": {n: 1.0 if n == "logits" else aux_weight for n in names},
            "metrics": {"logits": ["accuracy"]}}


def classifier_targets(model, labels):
    """The ``y`` that ``model.fit`` takes: the labels, once per output of an aux-head model.

    Args:
        model: a model made by ``create_classifier``.
        labels: integer class ids, shape (N,).

    Returns:
        ``labels`` itself for a single-head model; ``{output name: labels}`` for an aux-head model.

    Examples:
        >>> import numpy as np
        >>> labels = np.array([0, 2, 1])
        >>> classifier_targets(create_classifier("small_vgg", 3, (32, 32, 3)), labels) is labels
        True
    """
    names = _output_names(model)
    return {n: labels for n in names} if names else labels


def inference_model(model):
    """The classifier without its auxiliary heads: images → main logits, sharing the weights.

    Args:
        model: a model made by ``create_classifier`` (with or without auxiliary heads).

    Returns:
        A ``keras.Model`` of the same name from images to the main head's logits; its layers are
        ``model``'s own, so training one trains the other.

    Examples:
        >>> model = create_classifier("small_googlenet", 10, input_shape=(40, 40, 3), aux_heads=True)
        >>> plain = inference_model(model)
        >>> plain.output_shape, plain.count_params() < model.count_params()
        ((None, 10), True)
    """
    return keras.Model(model.input, model.get_layer("logits").output, name=model.name)
