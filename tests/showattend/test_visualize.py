import numpy as np
import pytest
from PIL import Image

from showattend import Caption
from showattend.visualize import attention_overlays, plot_attention, save_attention, upsample_attention


def _caption(words=("a", "red", "circle"), grid=(8, 8), seed=0):
    rng = np.random.default_rng(seed)
    attention = rng.random((len(words), *grid)).astype(np.float32)
    attention /= attention.sum(axis=(1, 2), keepdims=True)
    return Caption(" ".join(words), list(words), -1.0, attention, rng.random(len(words)).astype(np.float32))


@pytest.mark.parametrize("grid", [(4, 4), (7, 7), (8, 8), (14, 14)])
@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
@pytest.mark.parametrize("upscale", ["bilinear", "gaussian"])
def test_overlays_have_the_image_size_and_sum_to_one(grid, size, upscale):
    maps = attention_overlays(np.zeros((*size, 3), np.uint8), _caption(grid=grid), upscale=upscale)
    assert len(maps) == 3
    for m in maps:
        assert m.shape == size and m.dtype == np.float32 and (m >= 0).all()
        assert m.sum() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("upscale", ["bilinear", "gaussian"])
def test_one_hot_attention_peaks_inside_its_cell(upscale):
    one_hot = np.zeros((8, 8), np.float32)
    one_hot[2, 5] = 1
    up = upsample_attention(one_hot, (64, 96), upscale=upscale)
    row, col = np.unravel_index(np.argmax(up), up.shape)
    assert 16 <= row < 24 and 60 <= col < 72


def test_figure_has_one_panel_per_word_and_saves(tmp_path):
    caption = _caption()
    figure = plot_attention(np.zeros((64, 64, 3), np.uint8), caption)
    titled = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titled == ["image", "a", "red", "circle"]
    path = save_attention(tmp_path / "attention.png", np.zeros((64, 64, 3), np.uint8), caption)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 200


def test_caption_without_attention_is_refused():
    with pytest.raises(ValueError, match="return_attention=True"):
        attention_overlays(np.zeros((8, 8, 3), np.uint8), Caption("a", ["a"], -1.0))
    with pytest.raises(ValueError, match="Unknown upscale 'nearest'"):
        upsample_attention(np.ones((2, 2)), (4, 4), upscale="nearest")
