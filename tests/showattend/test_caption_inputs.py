import numpy as np
import pytest
from PIL import Image

from showattend import Caption, Captioner, Vocabulary


def _check(captions, count, captioner):
    assert len(captions) == count
    for caption in captions:
        assert isinstance(caption, Caption)
        assert caption.tokens == caption.text.split() if caption.text else caption.tokens == []
        assert np.isfinite(caption.score) and caption.score <= 0
        assert all(t in captioner.vocabulary for t in caption.tokens)


@pytest.fixture
def image(small_data):
    return small_data.images[0]


def test_single_array_batch_and_list(captioner, small_data, image):
    _check(captioner.caption(image), 1, captioner)
    _check(captioner.caption(small_data.images[:5]), 5, captioner)
    _check(captioner.caption([image, small_data.images[1]]), 2, captioner)


def test_paths_pil_grey_rgba_and_mixed_sizes(captioner, image, tmp_path):
    png, jpg = tmp_path / "a.png", tmp_path / "b.jpg"
    Image.fromarray(image).save(png)
    Image.fromarray(image).resize((120, 90)).save(jpg)
    grey = image.mean(axis=-1).astype(np.uint8)
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    inputs = [str(png), jpg, Image.fromarray(image), grey, grey[..., None], rgba, np.zeros((200, 50, 3), np.uint8)]
    captions = captioner.caption(inputs, beam_size=2)
    _check(captions, len(inputs), captioner)
    # the same pixels give the same caption whichever way they come in
    same = captioner.caption([str(png), Image.fromarray(image), image, rgba], beam_size=2)
    assert len({c.text for c in same}) == 1


def test_attention_maps(captioner, small_data):
    for beam in (1, 3):
        for caption in captioner.caption(small_data.images[:4], beam_size=beam, return_attention=True):
            assert caption.attention.dtype == np.float32
            assert caption.attention.shape == (len(caption.tokens), *captioner.grid_shape)
            np.testing.assert_allclose(caption.attention.sum(axis=(1, 2)), 1.0, atol=1e-5)
            assert caption.beta.shape == (len(caption.tokens),)
    assert captioner.caption(small_data.images[0])[0].attention is None


def test_decoding_is_compiled_once_per_input_shape(captioner, small_data):
    captioner.caption(small_data.images[:3], beam_size=2)
    functions = captioner._compiled_functions()
    traces = [f.experimental_get_tracing_count() for f in functions]
    for _ in range(3):
        captioner.caption(small_data.images[:3], beam_size=2)
    assert [f.experimental_get_tracing_count() for f in functions] == traces


def test_greedy_equals_beam_one_and_beam_scores_no_worse(captioner, small_data):
    greedy = captioner.caption(small_data.images[:6], beam_size=1)
    beam = captioner.caption(small_data.images[:6], beam_size=4)
    for g, b in zip(greedy, beam):
        assert b.score >= g.score - 1e-4 or len(g.tokens) == captioner.max_length


def test_missing_and_unreadable_files(captioner, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        captioner.caption(str(tmp_path / "missing.png"))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg"):
        captioner.caption([str(text)])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4,), np.uint8), "rank 2, 3 or 4"),
    (np.zeros((1, 2, 8, 8, 3), np.uint8), "rank 2, 3 or 4"),
    (np.zeros((8, 8, 2), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((0, 8, 8, 3), np.uint8), "empty batch"),
    ([], "empty list"),
    (np.zeros((8, 8, 3), bool), "dtype bool"),
    (3.5, "Cannot read an image from float"),
])
def test_bad_arrays(captioner, bad, message):
    with pytest.raises(ValueError, match=message):
        captioner.caption(bad)


def test_bad_decoding_arguments(captioner, small_data):
    for kwargs in ({"beam_size": 0}, {"max_length": 0}, {"beam_size": 2.5}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            captioner.caption(small_data.images[0], **kwargs)


def test_bad_model_arguments(vocabulary):
    with pytest.raises(ValueError, match="Unknown backbone 'resnet5'. Available: .*small_vgg"):
        Captioner("resnet5", vocabulary)
    with pytest.raises(ValueError, match="vocabulary must be a showattend.Vocabulary"):
        Captioner("small_vgg", ["a", "red", "circle"])
    with pytest.raises(ValueError, match="needs a vocabulary"):
        Captioner("small_vgg")
    with pytest.raises(ValueError, match="Unknown attention 'fuzzy'"):
        Captioner("small_vgg", vocabulary, attention="fuzzy")
    with pytest.raises(ValueError, match="backbone must be a registered name"):
        Captioner(42, vocabulary)


def test_empty_caption_list_is_refused():
    with pytest.raises(ValueError, match="empty list of captions"):
        Vocabulary.build([])
    from showattend import CaptionDataset

    with pytest.raises(ValueError, match="non-empty list of reference captions"):
        CaptionDataset(np.zeros((1, 8, 8, 3), np.uint8), [[]])


def test_image_size_must_match_the_backbone(vocabulary):
    with pytest.raises(ValueError, match="image_size"):
        Captioner(Captioner("small_vgg", vocabulary).backbone, vocabulary, image_size=(32, 32))
