import numpy as np
import pytest

from showattend.datasets import shapes
from showattend.datasets.shapes import COLOURS, SHAPES


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = shapes("val", 20, seed=1), shapes("val", 20, seed=1), shapes("val", 20, seed=2)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert not np.array_equal(a.images, c.images)


def test_splits_share_no_image():
    splits = [shapes(s, 200, seed=0).images for s in ("train", "val", "test")]
    seen = {img.tobytes() for img in splits[0]}
    for images in splits[1:]:
        assert not any(img.tobytes() in seen for img in images)
        seen |= {img.tobytes() for img in images}
    assert len(seen) == 600


def test_images_objects_and_captions():
    data = shapes("train", 100, image_size=64, seed=4)
    assert data.images.shape == (100, 64, 64, 3) and data.images.dtype == np.uint8
    counts = [len(objects) for objects in data.objects]
    assert min(counts) == 1 and max(counts) == 3
    for refs, objects in zip(data.captions, data.objects):
        assert len(refs) >= 3 and len(set(refs)) >= 3
        for ref in refs:
            assert ref == ref.lower()
            for o in objects:
                assert " ".join(o.name) in ref  # every reference names every object
        assert {o.name[0] for o in objects} <= set(COLOURS) and {o.name[1] for o in objects} <= set(SHAPES)


def test_masks_cover_their_objects_in_their_colour():
    data = shapes("test", 60, seed=5)
    for image, objects in zip(data.images, data.objects):
        background = np.ones(image.shape[:2], bool)
        for o in objects:
            assert o.mask.shape == image.shape[:2] and o.mask.sum() > 20
            mean = image[o.mask].astype(float).mean(axis=0)
            assert np.abs(mean - COLOURS[o.name[0]]).max() < 20  # colour jitter ±15 plus noise
            background &= ~o.mask
        grey = image[background].astype(float)
        assert np.abs(grey.mean(axis=1) - grey.mean()).mean() < 15  # the rest is grey background


def test_small_and_large_objects_differ_in_area():
    data = shapes("train", 200, seed=6)
    areas = {"small": [], "large": []}
    for objects in data.objects:
        for o in objects:
            if o.name[1] == "square":
                areas[o.attributes["size"]].append(o.mask.mean())
    cell = 1 / 9
    assert abs(np.mean(areas["small"]) / cell - 0.45 ** 2) < 0.05
    assert abs(np.mean(areas["large"]) / cell - 0.85 ** 2) < 0.08


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown split 'dev'"):
        shapes("dev")
    with pytest.raises(ValueError, match="num_images"):
        shapes("train", num_images=0)
    with pytest.raises(ValueError, match=r"image_size must be one integer .* got \(128, 128\)"):
        shapes("train", num_images=2, image_size=(128, 128))
    with pytest.raises(ValueError, match="between 24 and 1024 pixels, got 16"):
        shapes("train", num_images=2, image_size=16)
