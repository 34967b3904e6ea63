import numpy as np
import pytest

import cnn_backbones
from cnn_backbones import backbone_info, create_backbone, list_backbones


@pytest.mark.parametrize("name", list_backbones())
def test_every_entry_matches_its_metadata(name):
    info = backbone_info(name)
    model = create_backbone(name)
    h, w, _ = info.default_input_shape
    assert tuple(model.output_shape) == (None, h // info.feature_stride, w // info.feature_stride, info.grid_channels)
    assert model.get_layer(info.feature_layer).output.shape[-1] == info.grid_channels
    out = model(np.full((2, h, w, 3), 255, np.uint8).astype("float32"))
    assert np.isfinite(np.asarray(out)).all()


def test_small_vgg_gives_an_8x8_grid_at_64_px_and_scales():
    assert create_backbone("small_vgg", input_shape=(64, 64, 3)).output_shape == (None, 8, 8, 64)
    assert create_backbone("small_vgg", input_shape=(96, 32, 3)).output_shape == (None, 12, 4, 64)


def test_list_and_errors():
    assert "small_vgg" in list_backbones() and list_backbones("nothing*") == []
    with pytest.raises(ValueError, match="Unknown backbone 'resnet5'. Available: .*small_vgg"):
        create_backbone("resnet5")
    with pytest.raises(ValueError, match="input_shape"):
        create_backbone("small_vgg", input_shape=(64, 64))
    with pytest.raises(ValueError, match="no option 'depth'. Accepted: feature_stage"):
        create_backbone("resnet18", depth=3)
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_backbone("small_vgg", weights="imagenet")
    frozen = create_backbone("small_vgg", trainable=False)
    assert frozen.trainable_weights == []
    assert cnn_backbones.BackboneInfo is not None
