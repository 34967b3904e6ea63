import numpy as np
import pytest

from cnn_backbones import create_backbone, create_classifier
from cnn_backbones.densenet import grid_channels

PUBLISHED = {"densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_classifier_has_the_published_parameter_count(name):
    model = create_classifier(name, 1000)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == PUBLISHED[name]


def test_growth_rate_and_compression_are_the_family_builders_arguments():
    model = create_backbone("densenet121", input_shape=(64, 64, 3), growth_rate=16, compression=0.25)
    assert model.output_shape[-1] == grid_channels((6, 12, 24, 16), 16, 0.25) == 366
    assert model.get_layer("conv2_block1_2_conv").kernel.shape == (3, 3, 64, 16)  # bottleneck 4k → k
    assert model.get_layer("pool2_conv").kernel.shape[-1] == (32 + 6 * 16) // 4
    small = create_backbone("small_densenet", growth_rate=8)
    assert small.output_shape == (None, 8, 8, grid_channels((6, 6, 6), 8, 0.5))
    with pytest.raises(ValueError, match="compression must be in"):
        create_backbone("small_densenet", compression=0)
