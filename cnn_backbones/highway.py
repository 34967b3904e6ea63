"""Highway networks (Srivastava et al., 2015): gated shortcuts, the LSTM's carry in a feed-forward net.

A highway layer computes y = H(x)·T(x) + x·(1 − T(x)) with T = σ(W_T x + b_T). H and T are convs of
the same kernel with "same" padding; b_T starts negative (−1, −2, −3 for about 10, 20, 30 layers), so
at initialisation T is small and each layer mostly carries its input: the identity, through which
gradients pass undiminished. Plain conv layers change the width between stages. ``block="plain"``
builds the same net with every highway layer replaced by a plain conv-ReLU layer, for comparison.

No batch norm, as in the paper; H and plain layers use Keras' default (Glorot uniform) initializer,
which the ``kernel_initializer`` option changes.
"""
import keras
from keras import layers

from cnn_backbones.blocks import image_input, preprocessing
from cnn_backbones.registry import register_backbone

WIDTHS = (32, 64, 128)

__all__ = ["WIDTHS", "default_gate_bias", "highway_layer", "highway_net", "stage_sizes"]


def highway_layer(x, kernel_size=3, gate_bias=-2.0, kernel_initializer="glorot_uniform", name="highway"):
    """One highway layer: y = H(x)·T(x) + x·(1 − T(x)) = x + T(x)·(H(x) − x).

    H is a ReLU conv and T a sigmoid conv, both of ``x``'s width with "same" padding, so ``y`` has
    the shape of ``x``.

    Args:
        x: a symbolic tensor (batch, height, width, channels).
        kernel_size: the kernel size of H and T.
        gate_bias: T's initial bias; the more negative, the more the layer carries ``x`` at first.
        kernel_initializer: H's kernel initializer.
        name: the name of the output layer, and the prefix of the others'.

    Returns:
        The output tensor, of the shape of ``x``.

    Examples:
        >>> import keras, numpy as np
        >>> inputs = keras.Input((4, 4, 8))
        >>> model = keras.Model(inputs, highway_layer(inputs, gate_bias=-20.0))
        >>> x = np.random.rand(1, 4, 4, 8).astype("float32")
        >>> np.allclose(model(x), x, atol=1e-6)  # a closed gate carries its input
        True
    """
    channels = x.shape[-1]
    h = layers.Conv2D(channels, kernel_size, padding="same", activation="relu",
                      kernel_initializer=kernel_initializer, name=f"{name}_h")(x)
    t = layers.Conv2D(channels, kernel_size, padding="same", activation="sigmoid",
                      bias_initializer=keras.initializers.Constant(gate_bias), name=f"{name}_gate")(x)
    change = layers.Multiply(name=f"{name}_gated")([t, layers.Subtract(name=f"{name}_delta")([h, x])])
    return layers.Add(name=name)([x, change])


def plain_layer(x, kernel_size=3, kernel_initializer="glorot_uniform", name="plain", filters=None):
    return layers.Conv2D(filters or x.shape[-1], kernel_size, padding="same", activation="relu",
                         kernel_initializer=kernel_initializer, name=name)(x)


def default_gate_bias(depth):
    """The paper's choice by depth: −1 for about 10 layers, −2 for about 20, −3 for about 30.

    Args:
        depth: the number of layers of the net.

    Returns:
        The initial gate bias, a float from −3 to −1.

    Examples:
        >>> [default_gate_bias(depth) for depth in (11, 19, 32)]
        [-1.0, -2.0, -3.0]
    """
    return -float(min(3, max(1, round(depth / 10))))


def stage_sizes(depth, stages=3):
    """Highway layers per stage for a net of ``depth`` layers (one plain conv opens each stage).

    Args:
        depth: the layers of the net, plain convs included.
        stages: the number of stages.

    Returns:
        A tuple of ``stages`` counts, the later stages taking the remainder.

    Raises:
        ValueError: when ``depth`` is under twice ``stages`` (a stage needs a conv and a highway layer).

    Examples:
        >>> stage_sizes(19)
        (5, 5, 6)
    """
    count = depth - stages
    if count < stages:
        raise ValueError(f"depth must be at least {2 * stages}, got {depth!r}.")
    return tuple(count // stages + (1 if i >= stages - count % stages else 0) for i in range(stages))


def highway_net(input_shape=(32, 32, 3), depth=19, widths=WIDTHS, kernel_size=3, gate_bias=None, block="highway",
                kernel_initializer="glorot_uniform", name=None):
    """A convolutional highway net of ``depth`` layers in three stages, stride 8.

    Layout: conv1 (a plain 3×3 conv to ``widths[0]``), a 2×2 max pool, stage 1's highway layers;
    then for stages 2 and 3 a 2×2 max pool, a plain 3×3 conv to the stage's width and its highway
    layers. ``depth`` counts the 3 plain convs and the highway layers (32×32 → 4×4, 64×64 → 8×8).

    Args:
        input_shape: (height, width, 3).
        depth: the number of layers, plain convs included (at least twice the stages).
        widths: the channels of each stage; one stage per width.
        kernel_size: the kernel size of the highway (or plain) layers.
        gate_bias: the gates' initial bias; None for the paper's by depth (``default_gate_bias``).
        block: ``"highway"`` or ``"plain"`` (every highway layer a plain conv-ReLU layer).
        kernel_initializer: the initializer of H and of the plain convs.
        name: the model's name; None for ``f"{block}{depth}"``.

    Returns:
        A ``keras.Model`` from images (0..255) to the last stage's grid.

    Raises:
        ValueError: when ``block`` is neither ``"highway"`` nor ``"plain"`` or ``depth`` is too small.

    Examples:
        >>> highway_net((32, 32, 3), depth=19).output.shape[1:]
        (4, 4, 128)
    """
    if block not in ("highway", "plain"):
        raise ValueError(f"block must be 'highway' or 'plain', got {block!r}.")
    gate_bias = default_gate_bias(depth) if gate_bias is None else float(gate_bias)
    inputs = image_input(input_shape)
    x = preprocessing(inputs)
    for stage, (width, repeats) in enumerate(zip(widths, stage_sizes(depth, len(widths))), start=1):
        if stage > 1:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        x = plain_layer(x, 3, kernel_initializer, name=f"conv{stage}", filters=width)
        if stage == 1:
            x = layers.MaxPooling2D(2, name="pool1")(x)
        for i in range(repeats):
            unit = f"stage{stage}_{block}{i + 1}"
            if block == "highway":
                x = highway_layer(x, kernel_size, gate_bias, kernel_initializer, name=unit)
            else:
                x = plain_layer(x, kernel_size, kernel_initializer, name=unit)
    return keras.Model(inputs, x, name=name or f"{block}{depth}")


def _variant(depth):
    def build(input_shape=(32, 32, 3), gate_bias=None, block="highway", widths=WIDTHS,
              kernel_initializer="glorot_uniform"):
        return highway_net(input_shape, depth, tuple(widths), 3, gate_bias, block, kernel_initializer,
                           name=f"{block}{depth}")

    build.__doc__ = f"A {depth}-layer convolutional highway net (block='plain' for its plain twin). See highway_net()."
    return build


for _depth in (11, 19, 32):
    _last = stage_sizes(_depth)[-1]
    register_backbone(f"highway{_depth}", _variant(_depth), family="highway", default_input_shape=(32, 32, 3),
                      feature_stride=8, grid_channels=WIDTHS[-1], feature_layer=f"stage3_highway{_last}",
                      description=f"{_depth}-layer convolutional highway net (CIFAR-style, stride 8; "
                                  f"gate bias {default_gate_bias(_depth):g}); block='plain' for the plain twin")
