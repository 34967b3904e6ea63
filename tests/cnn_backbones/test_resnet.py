import keras
import numpy as np
import pytest

from cnn_backbones import create_backbone, create_classifier

PUBLISHED = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
             "resnet101": 44_549_160, "resnet152": 60_192_808}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_classifier_has_the_published_parameter_count(name):
    assert _trainable(create_classifier(name, 1000)) == PUBLISHED[name]


@pytest.mark.parametrize("name, channels", [("resnet18", 256), ("resnet50", 1024)])
def test_stage_four_grid(name, channels):
    assert create_backbone(name, feature_stage=4).output_shape == (None, 14, 14, channels)
    assert create_backbone(name, input_shape=(64, 64, 3)).output_shape[1:3] == (2, 2)
    with pytest.raises(ValueError, match="feature_stage must be 4 or 5"):
        create_backbone(name, feature_stage=3)


def test_convolutions_have_no_bias_and_shortcuts_project_only_when_needed():
    model = create_backbone("resnet18", input_shape=(64, 64, 3))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and not any(layer.use_bias for layer in convs)
    projections = sorted(layer.name for layer in convs if layer.name.endswith("_0_conv"))
    assert projections == ["conv3_block1_0_conv", "conv4_block1_0_conv", "conv5_block1_0_conv"]


def test_resnet20_is_the_cifar_net_at_stride_8():
    model = create_backbone("resnet20")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D) and "_0_" not in layer.name]
    assert len(convs) == 19  # + the classifier's dense layer: 20 weighted layers
    assert model.output_shape == (None, 8, 8, 64) and _trainable(model) == 272_112
    assert create_backbone("resnet20", input_shape=(32, 32, 3)).output_shape == (None, 4, 4, 64)


def test_classifier_errors_and_dropout():
    with pytest.raises(ValueError, match="num_classes"):
        create_classifier("resnet18", 0)
    model = create_classifier("small_vgg", 7, dropout=0.3)
    assert model.output_shape == (None, 7) and model.get_layer("dropout").rate == 0.3


def test_resnet_trains_one_captioner_step_from_its_stage_four_grid():
    from showattend import Captioner, Vocabulary

    vocab = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
    captioner = Captioner(create_backbone("resnet18", input_shape=(64, 64, 3), feature_stage=4), vocab, units=16,
                          embed_dim=8, attention_dim=8)
    captioner.compile(optimizer="adam", jit_compile=False, run_eagerly=True)
    ids = np.array([[1, 4, 5, 6, 2], [1, 4, 7, 8, 2]])
    images = np.zeros((2, 64, 64, 3), "uint8")
    logs = captioner.fit({"images": images, "tokens": ids[:, :-1]}, ids[:, 1:], epochs=1, verbose=0)
    assert np.isfinite(logs.history["loss"][0]) and captioner.grid_shape == (4, 4)
