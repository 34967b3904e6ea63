"""Each mistake a user can make with data, a vocabulary or captioning options is an error that names
the value (or file) and what would be accepted, raised before TensorFlow sees it (issue 21)."""
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from showattend import Caption, CaptionDataset, Captioner, Vocabulary
from showattend.data import BadImageError, images
from showattend.data.images import ImageTooLargeError
from showattend.datasets import folder
from showattend.datasets.common import AnnotationError


@pytest.fixture
def image(small_data):
    return small_data.images[0]


def _png_declaring(path, width, height):
    """A PNG of a few hundred bytes whose header declares ``width`` × ``height``: PIL reads the size
    from IHDR without decoding, so a 20000×20000 file costs no memory until it is decoded."""
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path, "PNG")
    buffer = bytearray(path.read_bytes())
    assert buffer[12:16] == b"IHDR"
    buffer[16:24] = struct.pack(">II", width, height)
    buffer[29:33] = struct.pack(">I", zlib.crc32(bytes(buffer[12:29])))  # the chunk's CRC covers type and data
    path.write_bytes(bytes(buffer))
    return path


# 1. empty datasets --------------------------------------------------------------------------------

def test_an_empty_dataset_is_refused_at_construction(tmp_path):
    with pytest.raises(ValueError, match="needs at least one image with at least one caption; got 0 images"):
        CaptionDataset(np.zeros((0, 8, 8, 3), np.uint8), [])
    with pytest.raises(ValueError, match="needs at least one image .* got 0 images and 0 caption lists"):
        CaptionDataset([], [])
    header_only = tmp_path / "captions.csv"
    header_only.write_text("image,caption\n")
    with pytest.raises(AnnotationError, match=re.escape(f"{str(header_only)!r} has no captions")):
        folder(tmp_path, header_only)
    missing = tmp_path / "missing.csv"
    missing.write_text("image,caption\na.png,a red circle\nb.png,a blue square\n")
    with pytest.raises(FileNotFoundError, match=r"2 of the 2 images listed in .*missing\.csv.* are not on disk, "
                                                r"e\.g\. .*a\.png.*Check the image folder"):
        folder(tmp_path, missing, on_bad_image="skip")  # skipping every image still leaves none


# 2. empty captions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("caption, kind", [("", "blank"), ("   \t", "blank"), ("?! …", "without words")])
def test_an_empty_caption_names_the_image_and_its_place(caption, kind):
    refs = [["a red circle"], ["a blue square", caption, "a square"]]
    with pytest.raises(ValueError, match=re.escape(f"Caption 2 of 3 of image 'b.png' (captions[1][1]) is {kind}: "
                                                   f"{caption!r}. Every reference caption needs at least one word")):
        CaptionDataset(["a.png", "b.png"], refs, image_ids=["a.png", "b.png"])
    with pytest.raises(ValueError, match=re.escape("Caption 1 of 1 of image 0 (captions[0][0]) is not a string: 7 "
                                                   "(int)")):
        CaptionDataset(["a.png"], [[7]])
    assert len(CaptionDataset(["a.png"], [["A 3."]])) == 1  # one word (a digit) is enough


# 3. max_length at caption time ---------------------------------------------------------------------

def test_max_length_beyond_the_models_is_allowed_and_below_one_refused(captioner):
    black = np.zeros((64, 64, 3), np.uint8)
    (short,) = captioner.caption(black, beam_size=1)  # the model's own max_length, 12
    (long,) = captioner.caption(black, beam_size=1, max_length=20)
    # the untrained model never writes <end>: it is cut at the model's 12 words, or at the 20 asked for
    assert (len(short.tokens), len(long.tokens)) == (captioner.max_length, 20) == (12, 20)
    assert long.tokens[:12] == short.tokens  # greedy: the same words, then more
    for bad in (0, -3, 2.5, "20"):
        with pytest.raises(ValueError, match=re.escape(f"max_length must be a positive integer, got {bad!r}.")):
            captioner.caption(black, max_length=bad)
    with pytest.raises(ValueError, match=re.escape("max_length must be a positive integer (the most words a caption "
                                                   "is trained on and written with), got 0.")):
        Captioner("small_vgg", captioner.vocabulary, max_length=0)


# 4. a vocabulary of special tokens alone ----------------------------------------------------------

def test_a_vocabulary_of_special_tokens_alone_is_refused_by_the_captioner():
    rare = Vocabulary.build(["a red circle", "a blue square"], min_count=3)
    assert len(rare) == 4  # build itself keeps no word, as asked
    with pytest.raises(ValueError, match=re.escape(
            "The vocabulary holds only the special tokens <pad>, <start>, <end>, <unk>: none of the 5 distinct words "
            "of the 2 captions was seen min_count=3 times (the most frequent, 'a', 2 times). Build it with "
            "min_count=2, or from more captions.")):
        Captioner("small_vgg", rare)
    with pytest.raises(ValueError, match=r"none of the 2 captions it was built from has a word"):
        Captioner("small_vgg", Vocabulary.build(["...", "?!"], min_count=1))
    with pytest.raises(ValueError, match=r"only the special tokens .* and no word\. .*Vocabulary\.build\(captions, "
                                         r"min_count=1\)"):
        Captioner("small_vgg", Vocabulary([]))
    with pytest.raises(ValueError, match="empty list of captions"):
        Vocabulary.build([])


# 5. and 6. beam_size ---------------------------------------------------------------------------------

@pytest.mark.parametrize("beam_size", [0, -2, 2.5, True, "3"])
def test_a_beam_size_that_is_not_a_positive_integer_is_refused(captioner, image, beam_size):
    with pytest.raises(ValueError, match=re.escape(f"beam_size must be a positive integer, got {beam_size!r}.")):
        captioner.caption(image, beam_size=beam_size)


def test_a_beam_size_over_the_vocabulary_is_refused_naming_both(captioner, image):
    words = len(captioner.vocabulary)
    choosable = words - 2  # all but <pad> and <start>
    for beam_size in (choosable + 1, 1000):
        with pytest.raises(ValueError, match=re.escape(
                f"beam_size={beam_size} is more than the {choosable} words the search can choose from (the "
                f"vocabulary's {words} less <pad> and <start>); accepted: 1 to {choosable}.")):
            captioner.caption(image, beam_size=beam_size)
    grids = np.zeros((1, *captioner.grid_shape, captioner.feature_dim), np.float32)
    with pytest.raises(ValueError, match=f"beam_size={choosable + 1} is more than the {choosable} words"):
        captioner.caption_features(grids, beam_size=choosable + 1)
    (caption,) = captioner.caption_features(grids, beam_size=choosable, max_length=2)  # the largest accepted
    assert isinstance(caption, Caption) and len(caption.tokens) <= 2


# 7. batch_size -------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [0, -1, 1.5])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused(captioner, image, batch_size):
    message = re.escape(f"batch_size must be a positive integer, got {batch_size!r}.")
    with pytest.raises(ValueError, match=message):
        captioner.caption(image, batch_size=batch_size)
    with pytest.raises(ValueError, match=message):
        captioner.caption_features(np.zeros((2, *captioner.grid_shape, captioner.feature_dim)), batch_size=batch_size)


def test_make_dataset_fit_and_evaluate_refuse_batch_size_zero(captioner, small_data):
    with pytest.raises(ValueError, match="batch_size.*got 0"):
        captioner.make_dataset(small_data, batch_size=0)
    with pytest.raises(ValueError, match="batch_size.*got -2"):
        captioner.fit(small_data, batch_size=-2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size.*got 0"):
        captioner.evaluate(small_data, batch_size=0, verbose=0)


# 8. pixels that are not finite -----------------------------------------------------------------------

def test_nan_and_infinite_pixels_are_refused_with_a_count(captioner, image):
    bad = image.astype(np.float32)
    bad[0, 0, 0], bad[5, 5, 1], bad[9, 9, 2] = np.nan, np.inf, -np.inf
    counted = re.escape("holds 3 of 12,288 values that are not finite (1 NaN, 2 infinite): pixels must be finite "
                        "numbers in 0..255.")
    with pytest.raises(ValueError, match=r"The image array \(shape \(64, 64, 3\)\) " + counted):
        captioner.caption(bad)
    with pytest.raises(ValueError, match=r"Image 1 of the batch \(shape \(64, 64, 3\)\) " + counted):
        captioner.caption(np.stack([image.astype(np.float32), bad]))
    # finite values outside 0..255 are still clipped, as documented
    assert captioner.caption(image.astype(np.float32) * 4 - 300, beam_size=1)[0].tokens == \
        captioner.caption(np.clip(image.astype(np.float32) * 4 - 300, 0, 255).astype(np.uint8), beam_size=1)[0].tokens


# 9. tiny and huge images -------------------------------------------------------------------------------

def test_a_one_pixel_image_is_resized_up_and_captioned(captioner, tmp_path):
    Image.new("RGB", (1, 1), (0, 0, 0)).save(tmp_path / "one.png")
    uniform = captioner.caption(np.zeros((64, 64, 3), np.uint8), beam_size=2)[0]
    for one in (np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), np.uint8), str(tmp_path / "one.png")):
        (caption,) = captioner.caption(one, beam_size=2)
        assert caption.tokens == uniform.tokens and caption.score == pytest.approx(uniform.score, abs=1e-5)
        assert len(caption.tokens) >= 1 and all(t in captioner.vocabulary for t in caption.tokens)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # PIL's own, above its limit
@pytest.mark.parametrize("side, over_pil", [(20000, True), (10000, False)])
def test_a_decompression_bomb_is_refused_naming_file_size_limit_and_how_to_raise_it(captioner, tmp_path, side,
                                                                                   over_pil):
    bomb = _png_declaring(tmp_path / "bomb.png", side, side)
    assert bomb.stat().st_size < 200  # the header declares the pixels; none are stored
    with pytest.raises(ImageTooLargeError) as raised:
        captioner.caption(str(bomb))
    message = str(raised.value)
    assert isinstance(raised.value, BadImageError)  # so on_bad_image="skip" leaves such a file out
    assert re.search(re.escape(repr(str(bomb))) + r" is (\d+×\d+ = )?" + f"{side * side:,} pixels, more than the "
                     "limit of 89,478,485 pixels", message), message
    assert "SHOWATTEND_MAX_IMAGE_PIXELS" in message and f"to {side * side} or more" in message
    assert ("PIL.Image.MAX_IMAGE_PIXELS to" in message) == over_pil  # PIL refuses above twice its own limit


def test_the_pixel_limit_is_set_by_the_environment_or_the_module_and_arrays_are_not_limited(captioner, tmp_path,
                                                                                          monkeypatch):
    small = tmp_path / "small.png"
    Image.new("RGB", (20, 20), (200, 30, 30)).save(small)
    monkeypatch.setenv("SHOWATTEND_MAX_IMAGE_PIXELS", "399")
    with pytest.raises(ImageTooLargeError, match=re.escape(f"{str(small)!r} is 20×20 = 400 pixels, more than the "
                                                           "limit of 399 pixels")):
        captioner.caption(str(small))
    assert len(captioner.caption(np.zeros((20, 20, 3), np.uint8), beam_size=1)) == 1  # arrays: no limit
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 400)  # the module setting wins over the environment
    assert len(captioner.caption(str(small), beam_size=1)[0].tokens) <= captioner.max_length
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", None)
    monkeypatch.setenv("SHOWATTEND_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ValueError, match=re.escape("The environment variable SHOWATTEND_MAX_IMAGE_PIXELS must be a "
                                                   "whole number of pixels, at least 1 (e.g. 200000000); got 'lots'.")):
        captioner.caption(str(small))
