"""Faults and bad input around files (issue 21): a disk that fills up mid-save, an --out that cannot be
written, a damaged or foreign model file, a damaged feature cache or images changed under it, two runs
in one folder, images gone between a kill and a resume. Nothing a user made is lost, the message names
the file, and a rerun goes on."""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

import showattend.files
from showattend import load_captioner
from tests.showattend.fixtures import shapes_folder
from showattend.callbacks import read_history
from showattend.cli import main
from showattend.datasets import shapes
from showattend.features import FeatureCache
from showattend.files import DiskFullError, UnwritableFolderError, writable_folder

SMALL = ["--backbone", "small_vgg", "--image-size", "32", "--units", "16", "--embed-dim", "8",
         "--attention-dim", "8", "--batch-size", "32", "--val-images", "4", "--min-count", "1"]
ENV = {**os.environ, "PYTHONPATH": os.getcwd(), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def full_after(written=1000):
    """A writer (a function or a method) that puts ``written`` bytes into the file it was given, then finds
    the disk full."""
    def write(*args, **kwargs):
        path = next(a for a in args if isinstance(a, (str, os.PathLike)))
        with open(path, "wb") as f:
            f.write(b"\0" * written)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def partials(folder):
    return sorted(str(p) for p in folder.rglob("*partial*"))


def image_folder(root, count=24, seed=21):
    return shapes_folder(root, count, seed)


# --- 1. the disk fills up while a model, a feature shard or a trial is saved ---------------------------


def test_a_full_disk_while_a_model_is_saved_keeps_the_earlier_file(captioner, tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    captioner.save(path)
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", full_after(5000))
        with pytest.raises(DiskFullError, match=r"The disk is full: could not write '.*model\.keras'") as caught:
            captioner.save(path)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert "The earlier file there is kept" in str(caught.value)
    assert path.read_bytes() == before and partials(tmp_path) == []
    assert load_captioner(path).count_params() == captioner.count_params()
    captioner.save(path)  # the disk has room again
    assert load_captioner(path).count_params() == captioner.count_params()


def test_a_full_disk_while_training_saves_keeps_the_kept_epoch_and_a_rerun_goes_on(tmp_path, monkeypatch, capsys):
    import showattend.training.loop

    class RisingScore(showattend.training.loop.CaptionMetrics):
        """A model that gets better every epoch, so that every epoch saves model.keras."""

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            logs["val_bleu4"] = 0.1 * (epoch + 1)

    monkeypatch.setattr(showattend.training.loop, "CaptionMetrics", RisingScore)
    data = image_folder(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", *data, *SMALL, "--val-split", "0.25", "--out", str(out)]
    assert main(args + ["--epochs", "1"]) == 0
    kept = (out / "model.keras").read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", full_after(5000))
        capsys.readouterr()
        assert main(args + ["--epochs", "2"]) == 2
    assert re.search(r"showattend: error: The disk is full: could not write '.*run/model\.keras'", capsys.readouterr().err)
    assert (out / "model.keras").read_bytes() == kept and partials(out) == []
    assert [r["epoch"] for r in read_history(out / "history.csv")] == [1]
    assert json.loads((out / "kept_epoch.json").read_text())["epoch"] == 1
    assert not (out / "training.lock").exists()  # let go, though the run ended in an error
    capsys.readouterr()
    assert main(args + ["--epochs", "2"]) == 0  # room again: the rerun trains epoch 2 and keeps it
    assert [r["epoch"] for r in read_history(out / "history.csv")] == [1, 2]
    assert json.loads((out / "kept_epoch.json").read_text())["epoch"] == 2
    assert (out / "model.keras").read_bytes() != kept and load_captioner(out / "model.keras").decoder.units == 16

    # --- 6. two images vanish before a resume: an error naming them, and the run as it was
    for name in ("03.png", "07.png"):
        (tmp_path / "data" / "photos" / name).unlink()
    history = (out / "history.csv").read_text()
    capsys.readouterr()
    assert main(args + ["--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "2 of the 24 images listed in" in err and "03.png" in err and "07.png" in err
    assert "on_bad_image='skip'" in err and "Traceback" not in err
    assert (out / "history.csv").read_text() == history


def test_a_full_disk_while_a_shard_is_saved_keeps_the_earlier_shards(tmp_path, monkeypatch):
    paths = [str(p) for p in image_files(tmp_path / "images", 6)]
    backbone = small_backbone()
    cache = FeatureCache.build(tmp_path / "cache", backbone, paths[:4], batch_size=2, shard_size=2, verbose=0)
    shards = {p.name: p.read_bytes() for p in (tmp_path / "cache").glob("shard_*")}
    assert sorted(shards) == ["shard_00000.json", "shard_00000.npy", "shard_00001.json", "shard_00001.npy"]
    with monkeypatch.context() as patch:
        patch.setattr(np, "save", full_after(300))
        with pytest.raises(DiskFullError, match=r"disk is full: could not write '.*shard_00002\.npy'"):
            cache.extract(backbone, paths, batch_size=2, shard_size=2, verbose=0)
    assert {p.name: p.read_bytes() for p in (tmp_path / "cache").glob("shard_*")} == shards
    assert partials(tmp_path / "cache") == [] and not (tmp_path / "cache" / "extracting.lock").exists()
    again = FeatureCache(tmp_path / "cache")
    assert len(again) == 4
    np.testing.assert_array_equal(again.read(paths[:4]), cache.read(paths[:4]))
    assert again.extract(backbone, paths, batch_size=2, shard_size=2, verbose=0) == 2  # room again
    assert len(FeatureCache(tmp_path / "cache")) == 6


TINY_SEARCH = dict(backbones=["small_vgg"], algorithm="random", max_trials=2, max_epochs=1, image_size=(32, 32),
                   batch_size=32, val_images=4, fixed={"units": 16, "embed_dim": 8, "attention_dim": 8,
                                                       "attention": "soft"}, verbose=0)


def test_a_full_disk_while_a_trial_is_saved_stops_the_search_and_keeps_the_trials(tmp_path, monkeypatch):
    from showattend.tuning.search import SearchDiskFullError, resume_summary
    from showattend.tuning.session import open_search, tune

    directory = tmp_path / "tuning"
    project = directory / "search"
    real_save_weights = keras.Model.save_weights

    def save_weights(self, filepath, *args, **kwargs):
        if "trial_1" in str(filepath):  # the second trial's best epoch
            return full_after(2000)(self, filepath)
        return real_save_weights(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    with pytest.raises(SearchDiskFullError, match=r"disk is full: could not write '.*trial_1/checkpoint\.weights\.h5'"):
        tune(str(directory), "shapes:24", **TINY_SEARCH)  # stops: keras-tuner would fail every later trial
    assert json.loads((project / "trial_0" / "trial.json").read_text())["status"] == "COMPLETED"
    assert json.loads((project / "trial_1" / "trial.json").read_text())["status"] == "RUNNING"  # not failed
    assert not (project / "trial_1" / "checkpoint.weights.h5").exists() and partials(directory) == []
    assert json.loads((project / "oracle.json").read_text())["ongoing_trials"] == {"tuner0": "1"}
    assert not (directory / "search.lock").exists()
    tuner = open_search(str(directory))[0]  # what a rerun starts from: trial 0 kept, trial 1 run again
    assert "1 finished trial kept, 1 unfinished trial to rerun" in resume_summary(tuner)
    assert tuner.load_model(tuner.oracle.trials["0"]).decoder.units == 16  # trial 0's checkpoint loads
    # keras-tuner's own trial.json, oracle.json and tuner0.json are written whole too
    files = {p: p.read_bytes() for p in (project / "trial_0" / "trial.json", project / "oracle.json")}
    monkeypatch.setattr(showattend.files, "open", lambda path, *a, **k: HalfWritten(path), raising=False)
    with pytest.raises(SearchDiskFullError, match=r"could not write '.*trial_0/trial\.json'"):
        tuner.oracle._save_trial(tuner.oracle.trials["0"])
    with pytest.raises(SearchDiskFullError, match=r"could not write '.*search/oracle\.json'"):
        tuner.save()
    assert {p: p.read_bytes() for p in files} == files and partials(directory) == []


class HalfWritten:
    """A text file whose disk fills up after half of what is written to it."""

    def __init__(self, path):
        self.file = open(path, "w", encoding="utf-8")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def write(self, text):
        self.file.write(text[:len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")


# --- 2. an --out that is a file, or that cannot be written ----------------------------------------------


def test_an_out_that_is_a_file_is_refused_before_anything_is_read(tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    assert main(["train", "--data", "shapes:60", *SMALL, "--epochs", "1", "--out", str(taken)]) == 2
    captured = capsys.readouterr()
    assert f"--out {str(taken)!r} is a file; it must be a folder" in captured.err
    assert "Data shapes" not in captured.out and taken.read_text() == "mine"
    assert main(["tune", "--data", "shapes:60", "--directory", str(taken)]) == 2
    assert f"--directory {str(taken)!r} is a file" in capsys.readouterr().err
    data = image_folder(tmp_path / "data", count=4)
    assert main(["features", *data, "--backbone", "small_vgg", "--image-size", "32", "--out", str(taken)]) == 2
    assert f"The feature cache's folder {str(taken)!r} is a file" in capsys.readouterr().err
    below = taken / "run"  # a path through a file
    assert main(["train", "--data", "shapes:60", *SMALL, "--epochs", "1", "--out", str(below)]) == 2
    assert "a part of that path is a file" in capsys.readouterr().err and taken.read_text() == "mine"


def test_a_folder_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, monkeypatch):
    def refused(folder):
        raise PermissionError(errno.EACCES, "Permission denied", folder)

    monkeypatch.setattr(showattend.files, "probe_writable", refused)  # what a read-only folder does to the probe
    out = tmp_path / "read_only"
    assert main(["train", "--data", "shapes:60", *SMALL, "--epochs", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"--out {str(out)!r} is not writable (Permission denied)" in captured.err
    assert "Data shapes" not in captured.out and list(out.iterdir()) == []
    assert main(["tune", "--data", "shapes:60", "--directory", str(out)]) == 2
    assert "--directory" in capsys.readouterr().err and list(out.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders; the probe is tested by monkeypatch above")
def test_a_read_only_folder_fails_the_probe(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UnwritableFolderError, match="is not writable"):
            writable_folder(folder)
    finally:
        folder.chmod(0o755)


def test_the_probe_leaves_nothing_behind(tmp_path):
    assert writable_folder(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert list((tmp_path / "new" / "run").iterdir()) == []


# --- 3. a damaged model file, another program's, or one saved by another version ------------------------


def edited(source, target, edit):
    """A copy of the .keras file ``source`` whose config.json went through ``edit``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    return target


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    keras.utils.set_random_seed(0)
    from showattend import Captioner, Vocabulary

    folder = tmp_path_factory.mktemp("models")
    vocabulary = Vocabulary.build(shapes("train", 8, seed=0).all_captions(), min_count=1)
    good = folder / "good.keras"
    Captioner("small_vgg", vocabulary, embed_dim=8, units=16, attention_dim=8, image_size=(32, 32), seed=7).save(good)
    whole = good.read_bytes()
    (folder / "half.keras").write_bytes(whole[:len(whole) // 2])
    (folder / "text.keras").write_bytes(b"a page of notes, renamed")
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    sequential.save(folder / "sequential.keras")
    edited(good, folder / "unknown_argument.keras", lambda c: c["config"].update(foo=3))
    edited(good, folder / "without_units.keras", lambda c: c["config"]["decoder"]["config"].pop("units"))
    edited(good, folder / "without_seed.keras", lambda c: c["config"].pop("seed"))
    edited(good, folder / "renamed_class.keras", lambda c: c.update(registered_name="showattend>CaptionerV0",
                                                                    class_name="CaptionerV0"))
    Image.fromarray(shapes("val", 1, seed=0).images[0]).save(folder / "image.png")
    return folder


@pytest.mark.parametrize("name, message", [
    ("half", r"is not a complete \.keras file \(the zip archive is truncated"),
    ("text", r"is not a \.keras file \(not a zip archive\)"),
    ("sequential", r"holds a keras Sequential model, not a showattend Captioner"),
    ("unknown_argument", r"was saved by another version of showattend: its config has the unknown argument 'foo'"),
    ("without_units", r"was saved by another version of showattend: its config lacks the argument 'units'"),
    ("renamed_class", r"was saved by another version of showattend: its model class 'showattend>CaptionerV0' is "
                      r"unknown"),
])
def test_a_model_file_that_is_not_a_captioner_is_named_with_what_it_is(model_files, name, message):
    path = model_files / f"{name}.keras"
    before = path.read_bytes()
    with pytest.raises(ValueError, match=f"^'{re.escape(str(path))}' {message}"):
        load_captioner(path)
    assert path.read_bytes() == before


def test_a_model_of_another_version_that_fits_loads(model_files):
    model = load_captioner(model_files / "without_seed.keras")  # the default seed builds the same model
    good = load_captioner(model_files / "good.keras")
    assert (model.seed, good.seed) == (None, 7) and model.decoder.units == 16
    np.testing.assert_array_equal(model.decoder.weights[0].numpy(), good.decoder.weights[0].numpy())


def test_caption_and_evaluate_exit_2_naming_the_model_file(model_files, tmp_path, capsys):
    for name in ("half", "sequential", "unknown_argument"):
        path = str(model_files / f"{name}.keras")
        assert main(["caption", path, str(model_files / "image.png")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"showattend: error: '{path}' ") and "Traceback" not in err
        assert main(["evaluate", path, "--data", "shapes:20", "--out", str(tmp_path / "results.json")]) == 2
        assert capsys.readouterr().err.startswith(f"showattend: error: '{path}' ")
    assert not (tmp_path / "results.json").exists()


# --- 4. a damaged feature cache, and images changed since their features were cached --------------------


def image_files(folder, count, seed=5):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(shapes("train", count, seed=seed).images):
        paths.append(folder / f"image_{i:03d}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


def small_backbone():
    import cnn_backbones

    keras.utils.set_random_seed(0)
    return cnn_backbones.create_backbone("small_vgg", input_shape=(32, 32, 3), trainable=False)


def test_a_truncated_shard_is_named_with_how_to_rebuild_it(tmp_path, capsys):
    data = image_folder(tmp_path / "data", count=8)
    cache = tmp_path / "cache"
    assert main(["features", *data, "--backbone", "small_vgg", "--image-size", "32", "--batch-size", "2",
                 "--out", str(cache)]) == 0
    paths = [str(tmp_path / "data" / "photos" / f"{i:02d}.png") for i in range(8)]
    features = FeatureCache(cache).read(paths)
    shard = cache / "shard_00000.npy"
    whole = shard.read_bytes()
    shard.write_bytes(whole[:len(whole) // 2])
    advice = (r"Delete shard_00000\.npy and shard_00000\.json in '.*cache' and run `showattend features` \(or the "
              r"same `showattend train --cache-features`, or FeatureCache\.build\) again")
    damage = rf"it holds {len(whole) // 2:,} bytes of the {len(whole):,} its header announces"
    with pytest.raises(ValueError, match=rf"shard '{re.escape(str(shard))}' is damaged \({damage}\)\. {advice}"):
        FeatureCache(cache).read(paths[:1])
    capsys.readouterr()
    assert main(["train", *data, *SMALL, "--val-split", "0.25", "--epochs", "1", "--out", str(tmp_path / "run"),
                 "--cache-features", "--feature-dir", str(cache)]) == 2
    captured = capsys.readouterr()
    assert f"shard '{shard}' is damaged" in captured.err and "Epoch 1" not in captured.out
    shard.unlink()  # as the message says
    (cache / "shard_00000.json").unlink()
    assert main(["features", *data, "--backbone", "small_vgg", "--image-size", "32", "--batch-size", "2",
                 "--out", str(cache)]) == 0
    np.testing.assert_array_equal(FeatureCache(cache).read(paths), features)


def test_an_image_changed_since_extraction_is_named_and_old_caches_still_read(tmp_path):
    paths = [str(p) for p in image_files(tmp_path / "images", 4)]
    backbone = small_backbone()
    FeatureCache.build(tmp_path / "cache", backbone, paths, batch_size=2, shard_size=2, verbose=0)
    listing = json.loads((tmp_path / "cache" / "shard_00001.json").read_text())
    assert [tuple(f) for f in listing["files"]] == [(os.path.getsize(p), os.stat(p).st_mtime_ns) for p in paths[2:]]
    assert FeatureCache(tmp_path / "cache").locate(paths).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(paths[3])  # other pixels, another size
    with pytest.raises(ValueError, match=rf"1 image file changed on disk since its features were cached in '.*cache', "
                                         rf"e\.g\. '{re.escape(paths[3])}' \([\d,]+ bytes then, [\d,]+ now\).* Delete "
                                         r"shard_00001\.npy and shard_00001\.json"):
        FeatureCache(tmp_path / "cache").locate(paths)
    stat = os.stat(paths[0])
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same bytes, touched a second later
    with pytest.raises(ValueError, match=r"2 image files changed .*modified .* then, .* now.* Delete "
                                         r"shard_00000\.npy and shard_00000\.json; shard_00001\.npy"):
        FeatureCache(tmp_path / "cache").locate(paths)
    for number in (0, 1):  # a cache written before files were recorded: read without the check
        path = tmp_path / "cache" / f"shard_{number:05d}.json"
        listing = json.loads(path.read_text())
        del listing["files"]
        path.write_text(json.dumps(listing))
    assert FeatureCache(tmp_path / "cache").read(paths).shape == (4, 4, 4, 64)


# --- 5. a second train, features or tune into a folder in use -------------------------------------------


HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("locks", sys.argv[1])
locks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(locks)
with locks.FolderLock(sys.argv[2], "search"):
    print("held", flush=True)
    time.sleep(120)
"""


def hold(lock):
    """A process (not showattend's command; it imports only showattend/locks.py) that holds ``lock``."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, os.path.join("showattend", "locks.py"), str(lock)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    return process


def test_a_second_search_or_extraction_is_refused_naming_the_process(tmp_path, capsys, monkeypatch):
    from showattend.tuning.session import search_lock

    directory = tmp_path / "tuning"
    directory.mkdir()
    holder = hold(directory / "search.lock")
    try:
        assert main(["tune", "--data", "shapes:60", "--directory", str(directory)]) == 2
        err = capsys.readouterr().err
        assert f"Another search (process {holder.pid}: {sys.executable} -c" in err
        assert f"is writing to '{directory / 'search'}'" in err and f"delete '{directory / 'search.lock'}'" in err
        with monkeypatch.context() as worker:  # a worker of a distributed search shares the folder on purpose
            worker.setenv("KERASTUNER_TUNER_ID", "tuner0")
            worker.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
            with search_lock(directory, "search"):
                pass
        assert main(["tune", "--data", "shapes:60", "--directory", str(directory), "--project-name", "other",
                     "--set", "colour=3"]) == 2  # another project in the same folder is free
        assert "Cannot fix colour" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert (directory / "search.lock").exists()  # left behind by a killed process: taken over
    with search_lock(directory, "search") as lock:
        assert lock.took_over["pid"] == holder.pid
    assert not (directory / "search.lock").exists()

    data = image_folder(tmp_path / "data", count=4)
    cache = tmp_path / "cache"
    cache.mkdir()
    holder = hold(cache / "extracting.lock")
    try:
        assert main(["features", *data, "--backbone", "small_vgg", "--image-size", "32", "--out", str(cache)]) == 2
        assert f"Another extraction (process {holder.pid}:" in capsys.readouterr().err
        assert not list(cache.glob("shard_*"))
    finally:
        holder.kill()
        holder.wait()


def test_a_second_train_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path):
    data = image_folder(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", *data, *SMALL, "--val-split", "0.25", "--on-bad-image", "skip", "--out", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "showattend.cli", *args, "--epochs", "3"], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "training.lock").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()[-2000:]
            time.sleep(0.1)
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "showattend.cli", *args, "--epochs", "3"], env=ENV,
                                capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
        assert first.poll() is None  # still training
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"Another training (process {first.pid}: {sys.executable} -m showattend.cli train" in second.stderr
        assert "Traceback" not in second.stderr and "Data folder" not in second.stdout  # refused before reading
        assert took < 60
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert json.loads((out / "training.lock").read_text())["pid"] == first.pid  # what a kill leaves behind
    # --- 6. images gone between the kill and the resume; the run says skip: left out with a warning
    for name in ("03.png", "07.png"):
        (tmp_path / "data" / "photos" / name).unlink()
    third = subprocess.run([sys.executable, "-m", "showattend.cli", *args, "--epochs", "1"], env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr[-2000:]
    assert "2 images left out: not on disk, e.g." in third.stderr and "03.png" in third.stderr
    counts = re.search(r"Data folder:.*: (\d+) training images .*, (\d+) validation images", third.stdout)
    assert int(counts.group(1)) + int(counts.group(2)) == 22
    assert [r["epoch"] for r in read_history(out / "history.csv")] == [1]
    assert not (out / "training.lock").exists()
    shutil.rmtree(out)
