import keras
import numpy as np
import pytest

from cnn_backbones import backbone_info, create_backbone, list_backbones
from cnn_backbones.blocks import ImagePreprocessing

LOW_RESOLUTION = [n for n in list_backbones() if backbone_info(n).feature_stride == 8]
# Deeper variants of a family repeat its blocks, whose saving and reloading its base variant checks
# (resnet50, densenet121); they are checked against their metadata and run, not reloaded (a minute of the suite).
DEEPER = {"resnet101", "resnet152", "densenet169", "densenet201"}


@pytest.mark.parametrize("name", list_backbones())
def test_every_entry_matches_its_metadata_and_reloads_identically(name, tmp_path):
    info = backbone_info(name)
    model = create_backbone(name)
    h, w, _ = info.default_input_shape
    assert tuple(model.output_shape) == (None, h // info.feature_stride, w // info.feature_stride, info.grid_channels)
    assert model.get_layer(info.feature_layer).output is model.output
    modes = [layer.mode for layer in model.layers if isinstance(layer, ImagePreprocessing)]
    assert modes == [info.preprocessing]
    for layer_name in info.aux_layers:
        model.get_layer(layer_name)
    images = np.random.default_rng(0).integers(0, 256, size=(2, h, w, 3)).astype("float32")
    out = np.asarray(model(images))
    assert np.isfinite(out).all() and out.std() > 0
    if name in DEEPER:
        assert backbone_info(name).family in {backbone_info(n).family for n in ("resnet50", "densenet121")}
        return
    model.save(tmp_path / "backbone.keras")
    again = keras.saving.load_model(tmp_path / "backbone.keras")
    np.testing.assert_allclose(np.asarray(again(images)), out, rtol=1e-5, atol=1e-5 * np.abs(out).max())


def test_low_resolution_variants_of_every_family_give_8x8_at_64_px():
    families = {backbone_info(n).family for n in LOW_RESOLUTION}
    assert families == {"vgg", "resnet", "densenet", "googlenet", "highway"}
    for name in LOW_RESOLUTION:
        assert create_backbone(name, input_shape=(64, 64, 3)).output_shape[1:3] == (8, 8), name


def test_small_vgg_scales_with_the_image():
    assert create_backbone("small_vgg", input_shape=(96, 32, 3)).output_shape == (None, 12, 4, 64)


def test_list_and_errors(tmp_path):
    assert "small_vgg" in list_backbones() and list_backbones("nothing*") == []
    assert list_backbones("resnet1*") == ["resnet101", "resnet152", "resnet18"]
    with pytest.raises(ValueError, match="Unknown backbone 'resnet5'. Available: .*small_vgg"):
        create_backbone("resnet5")
    with pytest.raises(ValueError, match="input_shape"):
        create_backbone("small_vgg", input_shape=(64, 64))
    with pytest.raises(ValueError, match="no option 'depth'. Accepted: feature_stage"):
        create_backbone("resnet18", depth=3)
    with pytest.raises(ValueError, match="'small_vgg' has no published ImageNet weights.*these do: densenet121"):
        create_backbone("small_vgg", weights="imagenet")
    with pytest.raises(ValueError, match="no file at '.*missing.h5'"):
        create_backbone("vgg16", weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="Unknown preprocessing mode 'bgr'; accepted: scale, caffe, torch"):
        ImagePreprocessing("bgr")
    frozen = create_backbone("small_vgg", trainable=False)
    assert frozen.trainable_weights == []


def test_a_backbone_without_published_weights_loads_its_own_weights_file(tmp_path):
    model = create_backbone("resnet20")
    model.save_weights(tmp_path / "resnet20.weights.h5")
    again = create_backbone("resnet20", weights=tmp_path / "resnet20.weights.h5")
    images = np.random.default_rng(1).integers(0, 256, size=(1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="Could not load weights file .* into backbone 'small_vgg'"):
        create_backbone("small_vgg", weights=tmp_path / "resnet20.weights.h5")


@pytest.mark.parametrize("name", LOW_RESOLUTION)
def test_every_low_resolution_variant_trains_one_captioner_step(name):
    from showattend import Captioner, Vocabulary

    vocab = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
    captioner = Captioner(name, vocab, image_size=(64, 64), units=16, embed_dim=8, attention_dim=8)
    captioner.compile(optimizer="adam", jit_compile=False, run_eagerly=True)  # one step: tracing would cost more
    ids = np.array([[1, 4, 5, 6, 2], [1, 4, 7, 8, 2]])
    images = np.random.default_rng(0).integers(0, 256, size=(2, 64, 64, 3)).astype("uint8")
    before = [np.array(w) for w in captioner.backbone.trainable_weights]
    logs = captioner.fit({"images": images, "tokens": ids[:, :-1]}, ids[:, 1:], epochs=1, verbose=0)
    assert np.isfinite(logs.history["loss"][0]) and captioner.grid_shape == (8, 8)
    after = captioner.backbone.trainable_weights
    assert any(not np.allclose(b, np.array(a)) for b, a in zip(before, after))  # the backbone trained too


def test_units_without_a_name_get_unique_keras_names():
    import keras

    from cnn_backbones.blocks import conv_bn, conv_bn_relu, image_input

    inputs = image_input((16, 16, 3))
    model = keras.Model(inputs, conv_bn_relu(conv_bn(inputs, 4), 4))  # two unnamed units: no clash
    names = [layer.name for layer in model.layers[1:]]
    assert len(names) == 5 and len(set(names)) == 5 and not any(name.startswith("None") for name in names)
