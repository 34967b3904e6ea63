"""The feature cache: what it stores, its key, a killed extraction resumed, and training from it."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
from PIL import Image

import cnn_backbones
from showattend import Captioner, CaptionDataset
from showattend.datasets import shapes
from showattend.features import FeatureCache

SIZE = (32, 32)


def _image_files(folder, count, seed=5):
    """Shapes images (64 px) written as PNG files: paths and their captions."""
    data = shapes("train", count, seed=seed)
    folder.mkdir(exist_ok=True)
    paths = []
    for i, image in enumerate(data.images):
        paths.append(str(folder / f"image_{i:03d}.png"))
        Image.fromarray(image).save(paths[-1])
    return paths, data.captions


def _backbone(seed=0, size=SIZE):
    keras.utils.set_random_seed(seed)
    return cnn_backbones.create_backbone("small_vgg", input_shape=(*size, 3), trainable=False)


def test_features_are_the_backbones_grids_in_float16_shards(tmp_path):
    paths, _ = _image_files(tmp_path / "images", 10)
    backbone = _backbone()
    cache = FeatureCache.build(tmp_path / "cache", backbone, paths, batch_size=4, shard_size=4, verbose=0)
    assert len(cache) == 10 and cache.grid_shape == (4, 4, 64)
    assert sorted(os.listdir(tmp_path / "cache")) == ["cache.json"] + [f"shard_{n:05d}.{e}" for n in range(3)
                                                                      for e in ("json", "npy")]
    from showattend.data.images import load_image, resize_images

    images = resize_images([load_image(p) for p in paths[::3]], SIZE)
    expected = backbone(images, training=False).numpy()
    features = cache.read(paths[::3])
    assert features.dtype == np.float16 and features.shape == (4, 4, 4, 64)
    np.testing.assert_allclose(features, expected, rtol=2e-3, atol=2e-3)  # float16 rounding
    again = FeatureCache(tmp_path / "cache")  # reopened from disk
    np.testing.assert_array_equal(again.read(paths), cache.read(paths))
    assert FeatureCache.build(tmp_path / "cache", backbone, paths, verbose=0).extract(backbone, paths) == 0


def test_a_cache_refuses_another_backbone_weights_or_size(tmp_path):
    paths, _ = _image_files(tmp_path / "images", 2)
    FeatureCache.build(tmp_path / "cache", _backbone(seed=0), paths, batch_size=2, shard_size=2, verbose=0)
    with pytest.raises(ValueError, match="weights_sha256.*delete this one to start anew"):
        FeatureCache.open(tmp_path / "cache", _backbone(seed=1))
    with pytest.raises(ValueError, match=r"image_size: \[32, 32\] in the cache, \[48, 48\] now"):
        FeatureCache.open(tmp_path / "cache", _backbone(seed=0, size=(48, 48)))
    with pytest.raises(ValueError, match="1 of 1 images are not in the feature cache"):
        FeatureCache(tmp_path / "cache").read([str(tmp_path / "other.png")])
    with pytest.raises(FileNotFoundError, match="No feature cache"):
        FeatureCache(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="these images are arrays"):
        FeatureCache(tmp_path / "cache").extract(_backbone(seed=0), shapes("val", 2).images)


def test_unreadable_files_stop_with_their_name_or_are_skipped_and_remembered(tmp_path):
    paths, _ = _image_files(tmp_path / "images", 3)
    broken = tmp_path / "images" / "broken.png"
    broken.write_bytes(open(paths[0], "rb").read()[:60])  # a truncated PNG
    backbone = _backbone()
    with pytest.raises(ValueError, match="broken.png"):
        FeatureCache.build(tmp_path / "strict", backbone, paths + [str(broken)], batch_size=2, shard_size=2,
                           verbose=0)
    with pytest.warns(UserWarning, match="1 unreadable image skipped.*broken.png"):
        cache = FeatureCache.build(tmp_path / "lenient", backbone, paths + [str(broken)], batch_size=2,
                                   shard_size=2, on_bad_image="skip", verbose=0)
    assert len(cache) == 3 and list(FeatureCache(tmp_path / "lenient").bad) == [str(broken)]
    data = CaptionDataset(paths + [str(broken)], [["a"], ["b"], ["c"], ["d"]], on_bad_image="skip")
    assert cache.cached_part(data).images == paths


KILLED_EXTRACTION = textwrap.dedent("""
    import sys, time
    import cnn_backbones
    from showattend.features import FeatureCache

    directory, weights, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    write = FeatureCache._write_shard
    def slow_write(self, *args):  # gives the test time to kill it between shards
        write(self, *args)
        time.sleep(0.4)
    FeatureCache._write_shard = slow_write
    backbone = cnn_backbones.create_backbone("small_vgg", input_shape=(32, 32, 3), weights=weights, trainable=False)
    FeatureCache.build(directory, backbone, paths, batch_size=4, shard_size=8, verbose=0)
""")


def test_a_killed_extraction_resumes_with_identical_features(tmp_path):
    paths, _ = _image_files(tmp_path / "images", 48)  # 6 shards of 8
    backbone = _backbone()
    weights = str(tmp_path / "backbone.weights.h5")
    backbone.save_weights(weights)
    script = tmp_path / "extract.py"
    script.write_text(KILLED_EXTRACTION)
    process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "killed"), weights, *paths],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (tmp_path / "killed" / "shard_00001.json").exists():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = FeatureCache(tmp_path / "killed")
    assert 16 <= len(interrupted) < 48  # killed between shards, after the second
    assert not list((tmp_path / "killed").glob("*partial*"))
    resumed = FeatureCache.build(tmp_path / "killed", backbone, paths, batch_size=4, shard_size=8, verbose=0)
    fresh = FeatureCache.build(tmp_path / "fresh", backbone, paths, batch_size=4, shard_size=8, verbose=0)
    assert len(resumed) == 48
    np.testing.assert_array_equal(resumed.read(paths), fresh.read(paths))


def test_training_from_the_cache_gives_the_losses_of_training_from_images(tmp_path, vocabulary):
    paths, captions = _image_files(tmp_path / "images", 24)
    data = CaptionDataset(paths, captions)
    backbone = _backbone()
    cache = FeatureCache.build(tmp_path / "cache", backbone, paths, batch_size=8, shard_size=8, verbose=0)

    def trained(feature_cache):
        keras.utils.set_random_seed(0)
        model = Captioner(backbone, vocabulary, units=16, embed_dim=8, attention_dim=8, dropout=0.0,
                          train_backbone=False, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
        history = model.fit(data, epochs=2, batch_size=16, verbose=0, feature_cache=feature_cache)
        return history.history["loss"], model.evaluate(data, verbose=0, feature_cache=feature_cache)

    (from_images, evaluated_images), (from_cache, evaluated_cache) = trained(None), trained(cache)
    np.testing.assert_allclose(from_cache, from_images, rtol=2e-3)
    np.testing.assert_allclose(evaluated_cache, evaluated_images, rtol=2e-3)
    assert from_images[1] < from_images[0]
    trainable = Captioner(backbone, vocabulary, units=16, embed_dim=8, attention_dim=8, train_backbone=True)
    with pytest.raises(ValueError, match="train_backbone=False"):
        trainable.make_dataset(data, feature_cache=cache)


def test_progress_in_a_log_file_is_plain_lines_with_an_eta(tmp_path, capsys):
    from showattend.features import _LogProgress

    progress = _LogProgress(100, every=0.0)
    progress.update(40)
    progress.update(100)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["40/100 images", "100/100 images"]
    assert lines[-1].endswith("ETA 0 s") and "\x1b" not in "".join(lines)


def test_leftovers_of_a_kill_and_a_second_extractor(tmp_path):
    paths, captions = _image_files(tmp_path / "images", 4)
    backbone = _backbone()
    cache = FeatureCache.build(tmp_path / "cache", backbone, paths[:2], batch_size=2, shard_size=2, verbose=0)
    (tmp_path / "cache" / "shard_00001.partial.json").write_text('{"images": [')  # killed mid-write
    (tmp_path / "cache" / "extracting.lock").write_text(str(os.getpid()))  # a live extraction
    with pytest.raises(FileExistsError, match=f"process {os.getpid()}"):
        FeatureCache(tmp_path / "cache").extract(backbone, paths, batch_size=2, shard_size=2, verbose=0)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "cache" / "extracting.lock").write_text(str(dead.pid))  # a killed one's lock is taken over
    again = FeatureCache(tmp_path / "cache")
    assert again.extract(backbone, paths, batch_size=2, shard_size=2, verbose=0) == 2 and len(again) == 4
    assert not (tmp_path / "cache" / "extracting.lock").exists()
    assert again.shard_numbers == [0, 1] and len(FeatureCache(tmp_path / "cache")) == 4
    np.testing.assert_array_equal(again.read(paths[:2]), cache.read(paths[:2]))
    # images the cache skipped as unreadable: an error unless the data says skip
    again.bad[paths[3]] = f"{paths[3]!r} is not a readable image"
    with pytest.raises(ValueError, match="1 image of .* could not be read"):
        again.cached_part(CaptionDataset(paths, captions))
    assert len(again.cached_part(CaptionDataset(paths, captions, on_bad_image="skip"))) == 3


def test_arrays_are_refused_before_the_cache_writes_anything(tmp_path, capsys):
    from cnn_backbones import create_backbone
    from showattend.cli import main
    from showattend.datasets import shapes
    from showattend.features import FeatureCache

    backbone = create_backbone("small_vgg", input_shape=(32, 32, 3), weights=None, trainable=False)
    with pytest.raises(ValueError, match="these images are arrays"):
        FeatureCache.build(tmp_path / "cache", backbone, shapes("train", 2, image_size=32).images)
    assert not (tmp_path / "cache").exists()
    assert main(["features", "--data", "shapes", "--backbone", "small_vgg", "--out", str(tmp_path / "cli")]) == 2
    assert "the built-in shapes images are drawn in memory" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()
    assert main(["train", "--data", "shapes:8", "--backbone", "small_vgg", "--cache-features", "--epochs", "1",
                 "--out", str(tmp_path / "run")]) == 2
    assert "train on them without --cache-features" in capsys.readouterr().err
