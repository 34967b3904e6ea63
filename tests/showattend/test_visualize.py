import numpy as np
import pytest
from PIL import Image

from showattend import Caption
from showattend.visualize import (attention_animation, attention_overlays, plot_attention, plot_attention_grid,
                                  save_attention, upsample_attention)


def _caption(words=("a", "red", "circle"), grid=(8, 8), seed=0, regions=None):
    rng = np.random.default_rng(seed)
    attention = rng.random((len(words), *grid)).astype(np.float32)
    attention /= attention.sum(axis=(1, 2), keepdims=True)
    return Caption(" ".join(words), list(words), -1.0, attention, rng.random(len(words)).astype(np.float32),
                   regions=None if regions is None else np.asarray(regions))


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


@pytest.mark.parametrize("cell", [(0, 0), (3, 7), (7, 0), (4, 4)])
def test_gaussian_default_keeps_the_mass_on_its_cell(cell):
    """The smoothed map's centre of mass stays inside the one-hot cell, borders included."""
    one_hot = np.zeros((8, 8), np.float32)
    one_hot[cell] = 1
    up = attention_overlays(np.zeros((64, 96, 3), np.uint8), Caption("a", ["a"], 0.0, one_hot[None]))[0]
    rows, cols = np.mgrid[0:64, 0:96] + 0.5
    centre = (rows * up).sum(), (cols * up).sum()
    assert cell[0] * 8 <= centre[0] <= (cell[0] + 1) * 8 and cell[1] * 12 <= centre[1] <= (cell[1] + 1) * 12
    assert up[cell[0] * 8:(cell[0] + 1) * 8, cell[1] * 12:(cell[1] + 1) * 12].sum() > 0.3  # 0.31 inside, 0.56 bilinear


def test_figure_shows_beta_and_boxes_hard_regions():
    caption = _caption(regions=[(0, 1), (2, 2), (7, 7)])
    figure = plot_attention(np.zeros((64, 64, 3), np.uint8), caption, cols=2)
    panels = [ax for ax in figure.axes if ax.get_title() in caption.tokens]
    assert [ax.get_xlabel() for ax in panels] == [f"β = {b:.2f}" for b in caption.beta]
    boxes = [ax.patches[0] for ax in panels]
    assert [(round(b.get_x() + 0.5), round(b.get_y() + 0.5)) for b in boxes] == [(8, 0), (16, 16), (56, 56)]
    assert sum(ax.get_visible() for ax in figure.axes) == 4  # 2×2 grid, all used
    no_beta = plot_attention(np.zeros((64, 64, 3), np.uint8), _caption(), show_beta=False)
    assert all(ax.get_xlabel() == "" and not ax.patches for ax in no_beta.axes)


def test_grid_has_one_row_per_image():
    captions = [_caption(), _caption(("a", "blue", "square", "and", "a", "circle"), grid=(4, 4))]
    figure = plot_attention_grid([np.zeros((64, 64, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], captions)
    axes = np.array(figure.axes).reshape(2, 7)
    assert [ax.get_title() for ax in axes[0] if ax.get_visible()] == ["image", "a", "red", "circle"]
    assert [ax.get_title() for ax in axes[1]] == ["image", "a", "blue", "square", "and", "a", "circle"]
    with pytest.raises(ValueError, match="2 images but 1 captions"):
        plot_attention_grid(np.zeros((2, 8, 8, 3), np.uint8), captions[:1])


def test_animation_steps_word_by_word(tmp_path):
    caption = _caption(("a", "red", "circle", "in", "the", "center"))
    path = attention_animation(np.zeros((48, 80, 3), np.uint8), caption, tmp_path / "attention.gif",
                               seconds_per_word=0.5)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 7 and gif.info["duration"] == 500
        assert gif.size[0] == 400 and gif.size[1] < gif.size[0] * 1.0  # wide image, wide frame
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attention.gif"]  # no partial file left
    with pytest.raises(FileNotFoundError, match="No folder"):
        attention_animation(np.zeros((8, 8, 3), np.uint8), caption, tmp_path / "missing" / "a.gif")


def test_mismatched_words_and_maps_are_refused():
    caption = _caption()
    caption.tokens = caption.tokens[:2]
    with pytest.raises(ValueError, match="2 words but 3 attention maps"):
        plot_attention(np.zeros((8, 8, 3), np.uint8), caption)
    with pytest.raises(ValueError, match="cols must be a positive integer"):
        plot_attention(np.zeros((8, 8, 3), np.uint8), _caption(), cols=0)
