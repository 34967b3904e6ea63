"""Any registered backbone as an image classifier, with GoogLeNet's auxiliary heads when asked.

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
    """``loss``, ``loss_weights`` and ``metrics`` for ``model.compile``: sparse categorical
    cross-entropy on logits, the auxiliary heads weighted ``aux_weight`` (0.3, the paper's)."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    names = _output_names(model)
    if not names:
        return {"loss": loss, "metrics": ["accuracy"]}
    return {"loss": {n: loss for n in names},
            "loss_weights": {n: 1.0 if n == "logits" else aux_weight for n in names},
            "metrics": {"logits": ["accuracy"]}}


def classifier_targets(model, labels):
    """The ``y`` that ``model.fit`` takes: the labels, once per output of an aux-head model."""
    names = _output_names(model)
    return {n: labels for n in names} if names else labels


def inference_model(model):
    """The classifier without its auxiliary heads: images → main logits, sharing the weights."""
    return keras.Model(model.input, model.get_layer("logits").output, name=model.name)
