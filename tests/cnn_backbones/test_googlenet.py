import keras
import numpy as np
import pytest

from cnn_backbones import (classifier_compile_args, classifier_targets, create_backbone, create_classifier,
                           inference_model)


def _count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_module_shapes_at_224():
    model = create_backbone("googlenet")
    shapes = {m: model.get_layer(f"inception_{m}").output.shape[1:] for m in ("3b", "4a", "4d", "4e", "5b")}
    assert shapes == {"3b": (28, 28, 480), "4a": (14, 14, 512), "4d": (14, 14, 528), "4e": (14, 14, 832),
                      "5b": (7, 7, 1024)}
    assert create_backbone("googlenet", feature_module="4e").output_shape == (None, 14, 14, 832)
    with pytest.raises(ValueError, match="feature_module must be '5b' or '4e'"):
        create_backbone("googlenet", feature_module="4b")


def test_parameter_counts_true_5x5_and_torchvision_layout():
    assert _count(create_classifier("googlenet", 1000, branch5_kernel=3)) == 6_624_904  # torchvision's count
    assert _count(create_classifier("googlenet", 1000)) == 7_005_832  # the paper's 5×5 branches
    model = create_backbone("googlenet")
    assert model.get_layer("inception_3a_5x5_conv").kernel.shape == (5, 5, 16, 32)


def test_aux_heads_in_training_model_only():
    model = create_classifier("googlenet", 1000, aux_heads=True)
    assert {k: tuple(v.shape) for k, v in model.output.items()} == {
        "logits": (None, 1000), "aux1": (None, 1000), "aux2": (None, 1000)}
    assert model.get_layer("aux1_pool").output.shape[1:3] == (4, 4)  # 14×14 → 4×4
    assert model.get_layer("aux1_fc").kernel.shape == (4 * 4 * 128, 1024)
    assert model.get_layer("aux2_dropout").rate == 0.7
    plain = inference_model(model)
    assert plain.output_shape == (None, 1000)
    assert not any(layer.name.startswith("aux") for layer in plain.layers)
    heads = (512 + 528) * 128 + 2 * 2 * 128 + 2 * (2048 * 1024 + 1024) + 2 * (1024 * 1000 + 1000)
    assert _count(model) - _count(plain) == heads  # 1×1 conv (+BN), FC 1024, FC classes; 4a: 512, 4d: 528 channels
    shared = {id(v) for v in model.weights}
    assert all(id(v) in shared for v in plain.weights)


def test_aux_classifier_trains_with_weighted_losses_and_the_inference_model_follows():
    keras.utils.set_random_seed(0)
    model = create_classifier("small_googlenet", 3, aux_heads=True)
    args = classifier_compile_args(model)
    assert args["loss_weights"] == {"aux1": 0.3, "aux2": 0.3, "logits": 1.0}
    model.compile(optimizer="adam", run_eagerly=True, **args)
    images = np.random.default_rng(0).integers(0, 256, size=(4, 64, 64, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    outputs = model(images, training=False)
    per_head = {k: float(keras.losses.sparse_categorical_crossentropy(labels, v, from_logits=True).numpy().mean())
                for k, v in outputs.items()}
    loss = model.evaluate(images, classifier_targets(model, labels), verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(per_head["logits"] + 0.3 * (per_head["aux1"] + per_head["aux2"]), rel=1e-4)
    model.fit(images, classifier_targets(model, labels), epochs=1, verbose=0)
    plain = inference_model(model)
    np.testing.assert_allclose(np.asarray(plain(images)), np.asarray(model(images)["logits"]), rtol=1e-5, atol=1e-6)


def test_aux_head_errors():
    with pytest.raises(ValueError, match="'resnet18' has no auxiliary heads; these do: googlenet, small_googlenet"):
        create_classifier("resnet18", 10, aux_heads=True)
    with pytest.raises(ValueError, match=r"at least 5×5 .* got \(4, 4\)"):
        create_classifier("small_googlenet", 10, input_shape=(32, 32, 3), aux_heads=True)
