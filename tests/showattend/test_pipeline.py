import numpy as np
from PIL import Image

from showattend import CaptionDataset
from showattend.data import caption_dataset_to_tf, encode_captions


def test_one_example_per_caption_shifted_targets(small_data, vocabulary):
    batches = list(caption_dataset_to_tf(small_data, vocabulary, (64, 64), batch_size=16, shuffle=False))
    x, y = batches[0]
    assert sum(len(b[1]) for b in batches) == small_data.num_captions
    ids = encode_captions(small_data.captions[0][:1], vocabulary, x["tokens"].shape[1] - 1)[0]
    np.testing.assert_array_equal(x["tokens"][0], ids[:-1])
    np.testing.assert_array_equal(y[0], ids[1:])
    np.testing.assert_array_equal(x["images"][0], small_data.images[0])
    assert x["images"].dtype == "uint8" and x["tokens"][0, 0] == vocabulary.start_id


def test_file_paths_are_read_and_resized(tmp_path, vocabulary):
    paths = []
    for i, size in enumerate([(40, 30), (64, 64)]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((*size, 3), 50 * (i + 1), np.uint8)).save(paths[-1])
    data = CaptionDataset(paths, [["a red circle"], ["a blue square", "a square"]])
    x, y = next(iter(caption_dataset_to_tf(data, vocabulary, (32, 32), batch_size=8, shuffle=False)))
    assert x["images"].shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(x["images"][0], 50)
    np.testing.assert_array_equal(x["images"][2], 100)


def test_drop_remainder_keeps_one_batch_shape(small_data, vocabulary):
    shapes = {tuple(b[1].shape) for b in caption_dataset_to_tf(small_data, vocabulary, (64, 64), batch_size=10,
                                                               shuffle=True, seed=1, drop_remainder=True)}
    assert len(shapes) == 1


def test_grouped_batches_hold_every_caption_once(vocabulary):
    data = CaptionDataset(np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 64, 64, 3), np.uint8),
                          [["a red circle", "a circle"], ["a blue square"], ["a square", "a blue one", "one"]])
    x, y = next(iter(caption_dataset_to_tf(data, vocabulary, (64, 64), batch_size=9, shuffle=False,
                                           group_by_image=True)))
    # R = 2 (the first of the equally common counts): the third image's 3 captions come in two groups
    assert x["images"].shape == (4, 64, 64, 3) and x["tokens"].shape[:2] == (4, 2) == y.shape[:2]
    real = [(row != 0).any() for image in y.numpy() for row in image]
    assert sum(real) == data.num_captions == 6 and real == [True, True, True, False, True, True, True, False]
    np.testing.assert_array_equal(x["tokens"][0, 0, 1:], y[0, 0, :-1])
    assert x["images"].numpy()[:, 0, 0, 0].tolist() == [0, 1, 2, 2]


def test_a_dataset_smaller_than_a_batch_still_gives_one(small_data, vocabulary):
    batches = list(caption_dataset_to_tf(small_data.subset(range(3)), vocabulary, (64, 64), batch_size=64,
                                         shuffle=True, drop_remainder=True, group_by_image=True))
    assert len(batches) == 1 and batches[0][0]["images"].shape[0] == 3


def _files_of_every_kind(folder):
    """A CMYK JPEG, a 16-bit PNG, a palette GIF, an RGBA WebP and an EXIF-rotated JPEG (all 40×30)."""
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[:15, :20] = (200, 40, 40)  # a red top-left quarter marks the orientation
    paths = {}
    image = Image.fromarray(rgb)
    image.convert("CMYK").save(paths.setdefault("cmyk", str(folder / "cmyk.jpg")), quality=95)
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(paths.setdefault("i16", str(folder / "i16.png")))
    image.quantize(4).save(paths.setdefault("gif", str(folder / "palette.gif")))
    Image.fromarray(np.dstack([rgb, np.full((30, 40), 255, np.uint8)])).save(
        paths.setdefault("webp", str(folder / "rgba.webp")), lossless=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left: a viewer turns it right (clockwise) to show it
    image.rotate(90, expand=True).save(paths.setdefault("exif", str(folder / "rotated.jpg")), quality=95,
                                       exif=exif.tobytes())
    return paths


def test_files_of_every_kind_train_and_caption_as_loaded(tmp_path, captioner, vocabulary):
    from showattend.data import load_image, resize_images

    paths = list(_files_of_every_kind(tmp_path).values())
    data = CaptionDataset(paths, [["a red square"]] * len(paths))
    x, _ = next(iter(caption_dataset_to_tf(data, vocabulary, (32, 32), batch_size=8, shuffle=False)))
    expected = resize_images([load_image(p) for p in paths], (32, 32))
    np.testing.assert_array_equal(x["images"].numpy(), expected.astype(np.uint8))
    assert x["images"].numpy()[-1, 2, 2, 0] > 150  # the rotated file's red corner is back at the top left
    assert x["images"].numpy()[1, 2, 2].tolist() == [200] * 3  # 16-bit grey: its high byte, not clipped to 255
    assert len(captioner.caption(paths, beam_size=1)) == len(paths)


def test_an_unreadable_file_stops_fit_naming_it_or_is_skipped_and_counted(tmp_path, vocabulary):
    import keras
    import pytest

    from showattend import Captioner

    paths = list(_files_of_every_kind(tmp_path).values())
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(open(paths[-1], "rb").read()[:300])  # truncated
    files = paths + [str(broken)]
    model = Captioner("small_vgg", vocabulary, units=8, embed_dim=8, attention_dim=8, image_size=(32, 32))
    model.compile(optimizer="adam", jit_compile=False)
    strict = CaptionDataset(files, [["a red square"]] * len(files))
    with pytest.raises(ValueError, match=r"broken\.jpg.*on_bad_image='skip'"):
        model.fit(strict, epochs=1, batch_size=2, verbose=0, shuffle=False)
    lenient = CaptionDataset(files, [["a red square"]] * len(files), on_bad_image="skip")
    with pytest.warns(UserWarning, match=r"^1 unreadable image skipped.*broken\.jpg"):
        history = model.fit(lenient, epochs=2, batch_size=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_parallel_decoding_keeps_its_seeded_order_unless_told_not_to(tmp_path, vocabulary):
    from showattend.datasets import shapes

    data = shapes("train", num_images=40, seed=6)
    paths = []
    for i, image in enumerate(data.images):
        paths.append(str(tmp_path / f"{i:02d}.png"))
        Image.fromarray(image).save(paths[-1])
    files = CaptionDataset(paths, data.captions)

    def epoch(deterministic):
        batches = caption_dataset_to_tf(files, vocabulary, (64, 64), batch_size=8, seed=3, deterministic=deterministic)
        return [(x["images"].numpy(), y.numpy()) for x, y in batches]

    first, second = epoch(True), epoch(True)
    assert len(first) == len(second) == -(-files.num_captions // 8) > 1
    for (images_a, targets_a), (images_b, targets_b) in zip(first, second):
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(targets_a, targets_b)
    loose = epoch(False)  # the same examples, in whatever order decoding finished
    key = lambda batches: sorted(image.tobytes() + target.tobytes() for x, y in batches for image, target in zip(x, y))
    assert key(loose) == key(first)
