"""load_image / as_image_list: every format and mode, EXIF orientation, JPEG draft, damaged files."""
import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from showattend.data.images import BadImageError, as_image_list, load_image

H, W = 12, 16
_y, _x = np.mgrid[0:H, 0:W]
RGB = np.stack([_x * 15, _y * 20, 255 - _x * 10], axis=-1).astype(np.uint8)  # smooth: JPEG keeps it well
GREY = (_x * 8 + _y * 9).astype(np.uint8)
ALPHA = np.where(_x < 4, 0, np.where(_x < 8, 128, 255)).astype(np.uint8)  # transparent | half | opaque


def over_white(rgb, alpha):
    a = alpha[..., None].astype(np.float64) / 255
    return np.round(rgb * a + 255 * (1 - a)).astype(np.uint8)


def grey3(grey):
    return np.repeat(grey[..., None], 3, axis=-1)


def palette_image(transparent_index=None):
    image = Image.fromarray(RGB).quantize(8)
    expected = np.asarray(image.convert("RGB")).copy()
    if transparent_index is not None:
        expected[np.asarray(image) == transparent_index] = 255
    return image, expected


def case(name):
    """(PIL image to save, the RGB array load_image must return)."""
    if name == "L":
        return Image.fromarray(GREY), grey3(GREY)
    if name == "LA":
        return Image.merge("LA", [Image.fromarray(GREY), Image.fromarray(ALPHA)]), over_white(grey3(GREY), ALPHA)
    if name == "RGB":
        return Image.fromarray(RGB), RGB
    if name == "RGBA":
        return Image.fromarray(np.dstack([RGB, ALPHA])), over_white(RGB, ALPHA)
    if name == "P":
        return palette_image()
    if name == "P+transparency":
        image, expected = palette_image(transparent_index=2)
        image.info["transparency"] = 2
        return image, expected
    if name == "CMYK":
        return Image.fromarray(RGB).convert("CMYK"), RGB
    if name == "I;16":
        wide = GREY.astype(np.uint16) * 257 + 200  # high byte = GREY; clipping would give all 255
        return Image.fromarray(wide), grey3(GREY)
    if name == "I":
        return Image.fromarray(GREY.astype(np.int32) * 257), grey3(GREY)
    if name == "F":
        return Image.fromarray(GREY.astype(np.float32) / 255), grey3(GREY)
    raise AssertionError(name)


# Every mode each format can store (JPEG holds no alpha or palette; WebP stores RGB(A) only, so
# PIL converts an L or P image on saving; TIFF is where I and F files come from).
LOSSLESS = [("PNG", m) for m in ("L", "LA", "RGB", "RGBA", "P", "P+transparency", "I;16")] + \
           [("GIF", m) for m in ("L", "P", "P+transparency")] + \
           [("WEBP", m) for m in ("L", "LA", "RGB", "RGBA", "P")] + \
           [("TIFF", m) for m in ("I", "F", "CMYK", "I;16")]
LOSSY = [("JPEG", m) for m in ("L", "RGB", "CMYK")]


def save(image, path, fmt, **options):
    if fmt == "WEBP":
        options.setdefault("lossless", True)
    if fmt == "JPEG":
        options.setdefault("quality", 95)
    if "transparency" in image.info and fmt in ("PNG", "GIF"):
        options["transparency"] = image.info["transparency"]
    image.save(path, fmt, **options)
    return path


@pytest.mark.parametrize("fmt, mode", LOSSLESS + LOSSY, ids=lambda v: str(v))
def test_every_format_and_mode_becomes_rgb_uint8(tmp_path, fmt, mode):
    image, expected = case(mode)
    path = save(image, tmp_path / f"image.{fmt.lower()}", fmt)
    array = load_image(path)
    assert array.dtype == np.uint8 and array.shape == (H, W, 3)
    difference = np.abs(array.astype(int) - expected.astype(int))
    if (fmt, mode) in LOSSY:
        assert difference.mean() < 4, difference.mean()
    else:
        assert difference.max() <= 1, (difference.max(), np.argwhere(difference > 1)[:3])
    # the same image handed over as PIL gets the same treatment
    with Image.open(path) as opened:
        np.testing.assert_array_equal(as_image_list(opened)[0], array)


def test_alpha_is_composited_over_white_and_sixteen_bit_is_not_clipped(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :, 3] = [[0, 255], [128, 51]]
    array = load_image(save(Image.fromarray(rgba), tmp_path / "a.png", "PNG"))
    np.testing.assert_array_equal(array[0, 0], [255, 255, 255])  # transparent → the white background
    np.testing.assert_array_equal(array[0, 1], [200, 0, 0])
    np.testing.assert_array_equal(array[1, 0], [227, 127, 127])  # (200·128 + 255·127) / 255 = 227.4
    sixteen = Image.fromarray(np.array([[0, 257 * 100, 65535, 300]], np.uint16))
    assert sixteen.mode == "I;16"
    np.testing.assert_array_equal(load_image(save(sixteen, tmp_path / "b.png", "PNG"))[0, :, 0], [0, 100, 255, 1])


@pytest.mark.parametrize("values, expected", [
    (np.array([[0, 17, 255]], np.int32), [0, 17, 255]),  # 8-bit data kept
    (np.array([[0, 257 * 17, 65535]], np.int32), [0, 17, 255]),  # 16-bit data: high byte
    (np.array([[-50, 0, 200]], np.int32), [0, 51, 255]),  # anything else stretched
    (np.array([[0.0, 0.5, 1.0]], np.float32), [0, 128, 255]),  # fractions
    (np.array([[0.0, 17.0, 200.0]], np.float32), [0, 17, 200]),
    (np.array([[np.nan, 2.0, 1.0]], np.float32), [0, 2, 1]),
])
def test_32_bit_integer_and_float_images_are_scaled_by_their_range(values, expected):
    image = Image.fromarray(values)
    assert image.mode in ("I", "F")
    (array,) = as_image_list(image)
    np.testing.assert_array_equal(array[0], np.repeat(np.array(expected)[:, None], 3, axis=1))


def test_gif_and_animated_webp_give_their_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    for fmt in ("GIF", "WEBP"):
        path = tmp_path / f"animated.{fmt.lower()}"
        frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                       **({"lossless": True} if fmt == "WEBP" else {}))
        with Image.open(path) as check:
            assert check.n_frames == 3
        np.testing.assert_array_equal(load_image(path), np.broadcast_to([255, 0, 0], (6, 8, 3)))


def marked_jpeg(path, width, height, orientation):
    """A JPEG whose stored top-left corner is red (the rest black), with an EXIF orientation."""
    stored = np.zeros((height, width, 3), np.uint8)
    stored[: height // 4, : width // 4] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, "JPEG", quality=95, exif=exif)
    return stored


@pytest.mark.parametrize("orientation, turns", [(6, -1), (8, 1), (3, 2), (1, 0)])
def test_exif_orientation_is_applied(tmp_path, orientation, turns):
    stored = marked_jpeg(tmp_path / "turned.jpg", 40, 24, orientation)
    shown = np.rot90(stored, k=turns)  # 6: turn 90° clockwise to view; 8: counter-clockwise
    array = load_image(tmp_path / "turned.jpg")
    assert array.shape == shown.shape
    red = array[..., 0] > 128
    np.testing.assert_array_equal(red, shown[..., 0] > 128)
    corner = {6: (0, -1), 8: (-1, 0), 3: (-1, -1), 1: (0, 0)}[orientation]
    assert red[corner] and red.sum() == (40 // 4) * (24 // 4)
    with Image.open(tmp_path / "turned.jpg") as opened:  # a PIL image as opened: the same picture
        np.testing.assert_array_equal(as_image_list(opened)[0], array)


def test_large_jpeg_is_drafted_but_never_below_min_size(tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(path, "JPEG")
    drafted = load_image(path, min_size=(64, 64))
    assert drafted.shape == (375, 500, 3)  # decoded at 1/8: 8 times fewer pixels each way
    assert np.abs(drafted.astype(int) - [10, 120, 200]).max() <= 3
    assert load_image(path, min_size=(400, 400)).shape == (750, 1000, 3)  # 1/4: 1/8 would be 375 < 400
    assert load_image(path, min_size=(3000, 4000)).shape == (3000, 4000, 3)
    (listed,) = as_image_list([str(path)], min_size=(64, 64))
    assert listed.shape == (375, 500, 3)


def test_draft_request_follows_exif_rotation(tmp_path):
    # stored 3200 wide × 800 high, shown turned: 800 wide × 3200 high. min_size (50, 400) asks for
    # 400 px of shown width = stored height: only a 1/2 draft keeps that (1/8 of the unturned
    # request would leave 100 px).
    marked_jpeg(tmp_path / "tall.jpg", 3200, 800, orientation=6)
    array = load_image(tmp_path / "tall.jpg", min_size=(50, 400))
    assert array.shape == (1600, 400, 3)
    assert array[0, -1, 0] > 128 and array[-1, 0, 0] < 64  # the red corner is top right


def test_min_size_must_be_two_positive_integers(tmp_path):
    path = save(Image.fromarray(RGB), tmp_path / "a.png", "PNG")
    for bad in [(0, 10), (10,), "64", (10.5, 10), (-1, 4)]:
        with pytest.raises(ValueError, match="min_size"):
            load_image(path, min_size=bad)


def encoded(fmt):
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)  # incompressible
    Image.fromarray(noise).save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_files_raise_bad_image_error_naming_the_file(tmp_path, fmt, keep):
    data = encoded(fmt)
    path = tmp_path / f"cut_{fmt.lower()}.img"
    path.write_bytes(data[: int(len(data) * keep)])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(BadImageError, match=rf"cut_{fmt.lower()}\.img.* is not a readable image: \w+") as info:
        load_image(path)
    assert isinstance(info.value, ValueError)
    with pytest.raises(BadImageError, match=f"cut_{fmt.lower()}"):
        as_image_list([str(path)], min_size=(8, 8))


def test_unreadable_and_missing_files(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(BadImageError, match=r"notes\.jpg.*not an image format PIL knows"):
        load_image(text)
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        as_image_list([tmp_path / "missing.png"])
