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
    data = CaptionDataset(np.zeros((3, 64, 64, 3), np.uint8),
                          [["a red circle", "a circle"], ["a blue square"], ["a square", "a blue one", "one"]])
    x, y = next(iter(caption_dataset_to_tf(data, vocabulary, (64, 64), batch_size=9, shuffle=False,
                                           group_by_image=True)))
    assert x["images"].shape == (3, 64, 64, 3) and x["tokens"].shape[:2] == (3, 3) == y.shape[:2]
    real = [(row != 0).any() for image in y.numpy() for row in image]
    assert sum(real) == data.num_captions == 6  # padding rows are all zeros
    np.testing.assert_array_equal(x["tokens"][0, 0, 1:], y[0, 0, :-1])


def test_a_dataset_smaller_than_a_batch_still_gives_one(small_data, vocabulary):
    batches = list(caption_dataset_to_tf(small_data.subset(range(3)), vocabulary, (64, 64), batch_size=64,
                                         shuffle=True, drop_remainder=True, group_by_image=True))
    assert len(batches) == 1 and batches[0][0]["images"].shape[0] == 3
