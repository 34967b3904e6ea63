"""keras-hub presets as region encoders: small random-weight backbones built from their constructors,
saved with save_to_preset into temporary folders, and used through ``create_backbone("hub:FOLDER")``."""
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import cnn_backbones
from showattend import Captioner, CaptionDataset, load_captioner
from showattend.datasets import shapes
from showattend.features import FeatureCache, backbone_key

keras_hub = pytest.importorskip("keras_hub", reason="the hub extra (pip install 'showattend[hub]') is not installed")

SIZE = 64
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
IMAGENET = {"scale": list(1 / (255 * IMAGENET_STD)), "offset": list(-IMAGENET_MEAN / IMAGENET_STD)}
SCALE = {"scale": 1 / 127.5, "offset": -1.0}


def _save(folder, backbone, converter):
    backbone.save_to_preset(str(folder))
    converter.save_to_preset(str(folder))
    return f"hub:{folder}"


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Four families: a ViT, a DINOv2 with 2 register tokens, CLIP (two towers), and a ResNet; random weights."""
    root = tmp_path_factory.mktemp("presets")
    keras.utils.set_random_seed(0)
    vit = keras_hub.models.ViTBackbone(image_shape=(SIZE, SIZE, 3), patch_size=8, num_layers=1, num_heads=2,
                                       hidden_dim=16, mlp_dim=32)
    dino = keras_hub.models.DINOV2Backbone(patch_size=8, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32,
                                           num_register_tokens=2, image_shape=(SIZE, SIZE, 3),
                                           position_embedding_shape=(SIZE, SIZE, 3))
    resnet = keras_hub.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[3],
                                             stackwise_num_filters=[64, 16, 16, 16], stackwise_num_blocks=[1, 1, 1, 1],
                                             stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block")
    vision = keras_hub.models.CLIPVisionEncoder(patch_size=8, hidden_dim=16, num_layers=1, num_heads=2,
                                                intermediate_dim=32, image_shape=(SIZE, SIZE, 3))
    text = keras_hub.models.CLIPTextEncoder(vocabulary_size=50, embedding_dim=16, hidden_dim=16, num_layers=1,
                                            num_heads=2, intermediate_dim=32, max_sequence_length=8)
    clip = keras_hub.models.CLIPBackbone(vision, text, projection_dim=16)
    return {"clip": _save(root / "clip", clip, keras_hub.layers.CLIPImageConverter(scale=1 / 255)),
            "vit": _save(root / "vit", vit, keras_hub.layers.ViTImageConverter(**SCALE)),
            "dino": _save(root / "dino", dino, keras_hub.layers.DINOV2ImageConverter(**IMAGENET)),
            "resnet": _save(root / "resnet", resnet, keras_hub.layers.ResNetImageConverter(**IMAGENET))}


def _images(count=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, SIZE, SIZE, 3)).astype("float32")


@pytest.mark.parametrize("family, converter, dropped", [("vit", SCALE, 1), ("dino", IMAGENET, 3),
                                                        ("clip", {"scale": 1 / 255, "offset": 0.0}, 1)])
def test_transformer_presets_give_their_patch_tokens_on_the_patch_grid(presets, family, converter, dropped):
    """The grid is the backbone's tokens after the class (and register) tokens, on the 8×8 patch grid,
    of images scaled and offset by the preset's converter."""
    encoder = cnn_backbones.create_backbone(presets[family])
    assert encoder.output_shape == (None, 8, 8, 16)
    images = _images()
    inner = encoder.get_layer("hub_features").features
    scaled = images * np.asarray(converter["scale"], "float32") + np.asarray(converter["offset"], "float32")
    tokens = np.asarray(inner({"images": scaled} if isinstance(inner.input, dict) else scaled))
    assert tokens.shape == (2, dropped + 64, 16)
    np.testing.assert_allclose(np.asarray(encoder(images)), tokens[:, dropped:].reshape(2, 8, 8, 16), atol=1e-5)


def test_convolutional_presets_give_their_last_stage_or_the_stage_asked_for(presets):
    encoder = cnn_backbones.create_backbone(presets["resnet"], input_shape=(SIZE, SIZE, 3))
    assert encoder.output_shape == (None, 2, 2, 16)  # stride 32
    stage4 = cnn_backbones.create_backbone(presets["resnet"], input_shape=(SIZE, SIZE, 3), stage="P4")
    assert stage4.output_shape == (None, 4, 4, 16)
    assert stage4.count_params() < encoder.count_params()  # stage 5's weights are not in it
    with pytest.raises(ValueError, match=r"ResNetBackbone has no stage 'P6'; its stages: 'P2', 'P3', 'P4', 'P5'"):
        cnn_backbones.create_backbone(presets["resnet"], stage="P6")
    assert cnn_backbones.backbone_options(presets["resnet"]) == {"stage": None}


def test_backbone_info_describes_a_preset(presets):
    vit, resnet = cnn_backbones.backbone_info(presets["vit"]), cnn_backbones.backbone_info(presets["resnet"])
    assert (vit.family, vit.default_input_shape, vit.feature_stride, vit.grid_channels, vit.preprocessing) == \
        ("hub", (SIZE, SIZE, 3), 8, 16, "preset")
    assert "ViTBackbone" in vit.description and "weights from the preset" in vit.description
    assert (resnet.default_input_shape, resnet.feature_stride, resnet.grid_channels) == ((224, 224, 3), 32, 16)
    clip = cnn_backbones.backbone_info(presets["clip"])  # the image tower of a two-tower preset
    assert (clip.default_input_shape, clip.feature_stride) == ((SIZE, SIZE, 3), 8)
    assert "CLIPBackbone's vision encoder" in clip.description
    assert "hub:dinov2_small" in cnn_backbones.list_backbones("hub:dinov2*")
    assert not any(name.startswith("hub:") for name in cnn_backbones.list_backbones())


def test_an_image_size_off_the_patch_grid_is_refused_by_name(presets, vocabulary):
    message = r"cuts images into 8×8 patches, so its image size must be a multiple of 8×8; got 60×60"
    with pytest.raises(ValueError, match=message):
        cnn_backbones.create_backbone(presets["vit"], input_shape=(60, 60, 3))
    with pytest.raises(ValueError, match=message):
        Captioner(presets["dino"], vocabulary, image_size=(60, 60))
    with pytest.raises(ValueError, match=r"is made for 64×64 images and could not be built at 32×32"):
        cnn_backbones.create_backbone(presets["vit"], input_shape=(32, 32, 3))  # a ViT's positions are fixed


def test_an_uncached_preset_offline_says_how_to_pass_a_local_folder(monkeypatch):
    from keras_hub.src.utils import preset_utils

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'")

    monkeypatch.setattr(preset_utils.kagglehub, "model_download", offline)
    with pytest.raises(ValueError, match=r"Could not load keras-hub preset 'dinov2_small' \(ConnectionError") as error:
        cnn_backbones.create_backbone("hub:dinov2_small")
    assert "save_to_preset(FOLDER)" in str(error.value) and "hub:FOLDER" in str(error.value)
    with pytest.raises(ValueError, match=r"Unknown keras-hub preset 'dinov2_smal'"):
        cnn_backbones.create_backbone("hub:dinov2_smal")
    with pytest.raises(ValueError, match=r"is not a keras-hub preset folder \(it has no config.json\)"):
        cnn_backbones.create_backbone("hub:./no/such/folder")
    with pytest.raises(ValueError, match="takes its weights from its keras-hub preset"):
        cnn_backbones.create_backbone("hub:dinov2_small", weights="imagenet")


@pytest.fixture(scope="module")
def trained(presets, tmp_path_factory):
    """A frozen ViT preset's captioner trained 2 epochs from its feature cache of PNG files."""
    folder = tmp_path_factory.mktemp("hub_images")
    data = shapes("train", 48, seed=5)
    paths = []
    for i, image in enumerate(data.images):
        paths.append(str(folder / f"image_{i:03d}.png"))
        Image.fromarray(image).save(paths[-1])
    files = CaptionDataset(paths, data.captions)
    from showattend import Vocabulary

    vocabulary = Vocabulary.build(data.all_captions(), min_count=1)
    keras.utils.set_random_seed(0)
    model = Captioner(presets["vit"], vocabulary, units=32, embed_dim=16, attention_dim=16, train_backbone=False,
                      max_length=12, seed=0)
    cache = FeatureCache.build(folder / "cache", model.backbone, paths, batch_size=16, shard_size=16, verbose=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(files, epochs=2, batch_size=16, verbose=0, feature_cache=cache)
    return model, files, data.images, cache, history.history["loss"]


def test_a_preset_captioner_trains_from_its_feature_cache_and_reloads_with_identical_captions(trained, tmp_path):
    model, files, arrays, cache, losses = trained
    assert np.isfinite(losses).all() and losses[1] < losses[0]
    grids = cache.read(files.images[:8])
    assert grids.shape == (8, 8, 8, 16)
    np.testing.assert_allclose(grids, model.backbone.predict(arrays[:8], verbose=0), atol=2e-2)  # float16 shards
    model.save(tmp_path / "hub.keras")
    loaded = load_captioner(tmp_path / "hub.keras")
    assert isinstance(loaded.backbone.get_layer("hub_features"), cnn_backbones.hub.HubEncoder)
    assert not loaded.backbone.trainable and len(loaded.trainable_variables) == len(model.trainable_variables)
    images = arrays[:8]
    for beam_size in (1, 3):
        before, after = (m.caption(images, beam_size=beam_size, return_attention=True) for m in (model, loaded))
        assert [c.text for c in before] == [c.text for c in after]
        np.testing.assert_allclose([c.score for c in before], [c.score for c in after], atol=1e-5)
    caption = before[0]
    assert caption.attention.shape == (len(caption.tokens), 8, 8)  # a map over the patch grid
    from showattend.visualize import attention_overlays, save_attention

    overlays = attention_overlays(images[0], caption)
    assert overlays[0].shape == (SIZE, SIZE) and overlays[0].sum() == pytest.approx(1.0, abs=1e-4)
    save_attention(tmp_path / "words.png", images[0], caption)
    assert Image.open(tmp_path / "words.png").size[0] > SIZE


def test_the_feature_cache_key_holds_the_preset_and_its_weights(trained, presets, tmp_path):
    model, _, _, cache, _ = trained
    key = backbone_key(model.backbone)
    assert key["backbone"] == "hub_vit" and key["grid"] == [8, 8, 16] and len(key["weights_sha256"]) == 16
    dino = cnn_backbones.create_backbone(presets["dino"], trainable=False)
    with pytest.raises(ValueError, match="was made for another backbone"):
        FeatureCache.open(cache.directory, dino)


def test_without_keras_hub_loading_says_to_install_the_extra(trained, tmp_path, monkeypatch, capsys):
    model, files, _, _, _ = trained
    model.save(tmp_path / "hub.keras")
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # `import keras_hub` raises ImportError
    with pytest.raises(cnn_backbones.MissingExtraError, match=r'pip install "showattend\[hub\]"'):
        load_captioner(tmp_path / "hub.keras")
    with pytest.raises(cnn_backbones.MissingExtraError, match=r'pip install "showattend\[hub\]"'):
        cnn_backbones.create_backbone("hub:dinov2_small")
    from showattend.cli import main

    assert main(["caption", str(tmp_path / "hub.keras"), files.images[0]]) == 2
    assert 'holds a captioner whose encoder is a keras-hub backbone' in capsys.readouterr().err


def test_bfloat16_runs_the_preset_in_bfloat16_close_to_float32(presets):
    images = _images()
    full = np.asarray(cnn_backbones.create_backbone(presets["dino"])(images))
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        encoder = cnn_backbones.create_backbone(presets["dino"])
        half = encoder(images)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.backend.standardize_dtype(half.dtype) == "bfloat16"
    assert encoder.get_layer("hub_features").features.dtype_policy.name == "mixed_bfloat16"
    error = np.abs(np.asarray(half, "float32") - full)
    assert error.max() < 0.1 * np.abs(full).max()


def test_a_search_takes_presets_as_values_of_backbone(presets, tmp_path):
    """Everything but the backbone pinned: the random oracle must try the preset second, frozen."""
    import math

    from showattend import Vocabulary
    from showattend.tuning import CaptionHyperModel, make_tuner

    train, val = shapes("train", num_images=64, seed=0), shapes("val", num_images=16, seed=1)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    pinned = dict(attention="soft", cell="lstm", attention_score="additive", units=16, embed_dim=16, attention_dim=16,
                  doubly_stochastic=0.0, dropout=0.0, learning_rate=3e-3)
    hypermodel = CaptionHyperModel(vocabulary, backbones=["small_vgg", presets["vit"]], image_size=(SIZE, SIZE),
                                   val_images=16, batch_size=32, **pinned)
    tuner = make_tuner(hypermodel, "random", max_trials=2, max_epochs=1, directory=tmp_path, verbose=0)
    tuner.search(train, validation_data=val, verbose=0)
    trials = [tuner.oracle.trials[t] for t in sorted(tuner.oracle.trials)]
    assert [t.hyperparameters.values["backbone"] for t in trials] == ["small_vgg", presets["vit"]]
    assert all(t.status == "COMPLETED" and math.isfinite(t.score) for t in trials)
    hub = tuner.load_model(trials[1])
    assert isinstance(hub.backbone.get_layer("hub_features"), cnn_backbones.hub.HubEncoder)
    assert not hub.backbone.trainable


def test_train_takes_a_preset_and_keeps_it_frozen(presets, tmp_path, capsys):
    from showattend.cli import main

    out = tmp_path / "run"
    args = ["train", "--data", "shapes:64", "--backbone", presets["dino"], "--epochs", "1", "--batch-size", "32",
            "--val-images", "8", "--units", "16", "--embed-dim", "16", "--attention-dim", "16", "--out", str(out)]
    assert main(args + ["--weights", "imagenet"]) == 2
    assert "takes its weights from its keras-hub preset" in capsys.readouterr().err
    assert main(args) == 0
    assert "backbone frozen" in capsys.readouterr().out
    model = load_captioner(out / "model.keras")
    assert model.grid_shape == (8, 8) and not model.backbone.trainable
    assert model.backbone.get_layer("hub_features").features.name.startswith("dino")


def test_a_bad_preset_ends_train_with_its_name(presets, tmp_path):
    """As a user runs it: a child process that says what is wrong and exits within GRACE seconds."""
    from tests.showattend.processes import GRACE, run

    args = ["train", "--data", "shapes:8", "--epochs", "1", "--out", tmp_path / "run"]
    ended = run(args + ["--backbone", presets["vit"], "--image-size", "60"], "multiple of 8×8")
    assert ended.returncode == 2 and ended.lingered < GRACE
    assert "cuts images into 8×8 patches, so its image size must be a multiple of 8×8; got 60×60" in ended.stderr
    assert "Traceback" not in ended.output
