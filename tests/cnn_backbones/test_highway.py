import keras
import numpy as np
import pytest
import tensorflow as tf

from cnn_backbones import create_backbone
from cnn_backbones.highway import default_gate_bias, highway_layer, plain_layer, stage_sizes


def _stack(kind, depth=30, gate_bias=-3.0):
    inputs = keras.Input((8, 8, 16))
    x, outputs = inputs, []
    for i in range(depth):
        x = highway_layer(x, 3, gate_bias, name=f"l{i}") if kind == "highway" else plain_layer(x, 3, name=f"l{i}")
        outputs.append(x)
    return keras.Model(inputs, outputs)


def test_a_highway_layer_at_initialisation_is_close_to_the_identity():
    keras.utils.set_random_seed(0)
    x = tf.random.uniform((4, 8, 8, 16))
    inputs = keras.Input((8, 8, 16))
    layer = keras.Model(inputs, highway_layer(inputs, 3, gate_bias=-3.0))
    gate = keras.Model(inputs, layer.get_layer("highway_gate").output)
    assert float(tf.reduce_mean(gate(x))) == pytest.approx(0.047, abs=0.02)  # σ(−3) = 0.047
    change = float(tf.norm(layer(x) - x) / tf.norm(x))
    assert change < 0.1
    opened = keras.Model(inputs, highway_layer(inputs, 3, gate_bias=3.0, name="open"))  # T ≈ 1: y ≈ H(x)
    assert float(tf.norm(opened(x) - x) / tf.norm(x)) > 5 * change


def test_gradient_survives_thirty_highway_layers_and_vanishes_through_thirty_plain_ones():
    """‖∂L/∂x‖ at the first layer over that at the last: ≥ 1/4 through highway layers (gate bias −3),
    < 1e-3 through plain conv-ReLU layers; both with Keras' default (Glorot) initializer."""
    ratios = {}
    for kind in ("highway", "plain"):
        keras.utils.set_random_seed(0)
        model = _stack(kind)
        x = tf.random.uniform((4, 8, 8, 16), seed=1)
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = model(x)
            loss = tf.reduce_sum(outputs[-1])
        first, last = tape.gradient(loss, [x, outputs[-2]])
        ratios[kind] = float(tf.norm(first) / tf.norm(last))
    assert 0.25 < ratios["highway"] < 4
    assert ratios["plain"] < 1e-3


def test_named_nets_depths_gate_biases_and_the_plain_twin():
    assert stage_sizes(11) == (2, 3, 3) and stage_sizes(19) == (5, 5, 6) and stage_sizes(32) == (9, 10, 10)
    assert [default_gate_bias(d) for d in (11, 19, 32)] == [-1.0, -2.0, -3.0]
    model = create_backbone("highway19")
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 2_326_016  # the paper: ~2.3M
    gates = [layer for layer in model.layers if layer.name.endswith("_gate")]
    assert len(gates) == 16 and all(np.allclose(g.bias.numpy(), -2.0) for g in gates)
    custom = create_backbone("highway11", gate_bias=-4)
    assert np.allclose(custom.get_layer("stage1_highway1_gate").bias.numpy(), -4.0)
    plain = create_backbone("highway32", block="plain", input_shape=(64, 64, 3))
    convs = [layer for layer in plain.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 32 and plain.output_shape == (None, 8, 8, 128)
    with pytest.raises(ValueError, match="block must be 'highway' or 'plain'"):
        create_backbone("highway11", block="resnet")
