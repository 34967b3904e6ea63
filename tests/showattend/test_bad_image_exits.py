"""A truncated JPEG in the data: every command says which file and ends, with a non-zero status,
within GRACE seconds of saying it (a tf.data pipeline still decoding used to keep `train` alive)."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.showattend.processes import GRACE, run

IMAGES = 600  # enough that the parallel decoding is still busy when the error reaches the top
BAD_TRAIN, BAD_TEST = 3, 545  # a truncated file in the training split and one in the test split
MESSAGE = r"is not a readable image: image file is truncated"
TINY = ["--units", "16", "--embed-dim", "8", "--attention-dim", "8", "--min-count", "1"]


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """A Karpathy-style COCO folder: 600 JPEGs of 480×480 (480 train, 60 val, 60 test), two of them
    cut in half; and a small saved captioner."""
    root = tmp_path_factory.mktemp("truncated")
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (480, 480, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    (root / "images").mkdir()
    records = []
    for i in range(IMAGES):
        name = f"COCO_val2014_{i:012d}.jpg"
        (root / "images" / name).write_bytes(jpeg[:len(jpeg) // 2] if i in (BAD_TRAIN, BAD_TEST) else jpeg)
        split = "train" if i < 480 else "val" if i < 540 else "test"
        records.append({"filename": name, "split": split, "imgid": i,
                        "sentences": [{"raw": f"a picture of thing {i % 3}"}, {"raw": "a noisy square"}]})
    (root / "dataset_coco.json").write_text(json.dumps({"images": records, "dataset": "coco"}))
    return root


@pytest.fixture(scope="module")
def model(truncated, captioner):
    path = truncated / "model.keras"
    captioner.save(path)
    return path


def data(root):
    return ["--data", f"karpathy:{root / 'dataset_coco.json'}", "--images", root / "images"]


def bad_file(root, index):
    return root / "images" / f"COCO_val2014_{index:012d}.jpg"


def assert_ends_naming(ended, index, advice="on_bad_image='skip'"):
    assert ended.returncode is not None, f"still running {GRACE} s after its message:\n{ended.output[-2000:]}"
    assert ended.returncode != 0 and ended.lingered < GRACE
    assert f"COCO_val2014_{index:012d}.jpg' is not a readable image" in ended.stderr
    assert advice in ended.stderr and "Traceback" not in ended.stderr


def test_train_ends_after_naming_the_file(truncated, tmp_path):
    ended = run(["train", *data(truncated), "--backbone", "small_vgg", "--epochs", "1", *TINY, "--out", tmp_path],
                MESSAGE)
    assert_ends_naming(ended, BAD_TRAIN)
    assert ended.returncode == 2


def test_features_ends_after_naming_the_file(truncated, tmp_path):
    ended = run(["features", *data(truncated), "--backbone", "small_vgg", "--out", tmp_path / "cache"], MESSAGE)
    assert_ends_naming(ended, BAD_TRAIN)


def test_evaluate_ends_after_naming_the_file(truncated, model, tmp_path):
    ended = run(["evaluate", model, *data(truncated), "--split", "test", "--out", tmp_path / "results.json"],
                MESSAGE)
    assert_ends_naming(ended, BAD_TEST)
    assert not (tmp_path / "results.json").exists()


def test_caption_and_visualize_end_after_naming_the_file(truncated, model, tmp_path):
    good, bad = bad_file(truncated, 0), bad_file(truncated, BAD_TEST)
    assert_ends_naming(run(["caption", model, good, bad], MESSAGE), BAD_TEST, advice="truncated")
    assert_ends_naming(run(["visualize", model, bad, "--out", tmp_path / "a.png"], MESSAGE), BAD_TEST, "truncated")
    assert not (tmp_path / "a.png").exists()


def test_tune_ends_after_naming_the_file(truncated, tmp_path):
    ended = run(["tune", *data(truncated), "--backbones", "small_vgg", "--algorithm", "random", "--max-trials", "1",
                 "--max-epochs", "1", "--directory", tmp_path / "tuning", "--set", "units=16", "--set",
                 "embed_dim=8", "--set", "attention_dim=8", "--val-images", "8"], MESSAGE)
    assert_ends_naming(ended, BAD_TRAIN)


def test_a_plain_script_that_calls_fit_ends(truncated, tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(f"""
from showattend import Captioner, Vocabulary
from showattend.datasets import karpathy

train = karpathy({str(truncated / 'dataset_coco.json')!r}, {str(truncated / 'images')!r}, split="train")
captioner = Captioner("small_vgg", Vocabulary.build(train.all_captions()), embed_dim=8, units=16, attention_dim=8)
captioner.compile(optimizer="adam")
captioner.fit(train, epochs=1, batch_size=64, verbose=0)
""")
    ended = run([], MESSAGE, script=script)
    assert ended.returncode == 1 and ended.lingered < GRACE  # Python's status for an uncaught error
    assert f"BadImageError: '{bad_file(truncated, BAD_TRAIN)}' is not a readable image" in ended.stderr
