"""Ctrl-C (SIGINT) and a scheduler's SIGTERM stop `train`, `features` and `tune` within GRACE seconds
with a message, keep what was finished, and the same command resumes, saying from where first."""
import json
import re
import signal

import pytest

from showattend.callbacks import read_history
from showattend.training import RunFolder
from tests.showattend.fixtures import shapes_folder
from tests.showattend.processes import GRACE, Child, run, wait_until

TINY = ["--backbone", "small_vgg", "--image-size", "32", "--units", "16", "--embed-dim", "8", "--attention-dim", "8",
        "--batch-size", "32", "--val-images", "8"]
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
SAID = {signal.SIGINT: "showattend: interrupted; run the same command again to resume.",
        signal.SIGTERM: "showattend: terminated (SIGTERM); run the same command again to resume."}


def stop(child, signum, ready, what):
    assert wait_until(ready, child), f"{what} never happened:\n{child.text('stdout')[-1500:]}{child.text('stderr')[-1500:]}"
    sent = child.send(signum)
    ended = child.end(since=sent)
    said = child.first(re.escape(SAID[signum]))  # when the message came: a late stop, or a late exit after it
    assert ended.returncode == STATUS[signum], (ended.returncode, f"message {said - sent if said else None} s after "
                                                f"the signal", ended.output[-2000:])
    assert ended.lingered < GRACE and SAID[signum] in ended.stderr and "Traceback" not in ended.stderr
    return ended


def test_train_stops_on_sigterm_and_resumes_saying_from_where(tmp_path):
    # One handler serves both signals (showattend.signals): Ctrl-C is sent to `tune` below, SIGTERM here.
    out = tmp_path / "run"
    command = ["train", "--data", "shapes:300", *TINY, "--epochs", "2", "--out", out]
    first = Child(command)
    stop(first, signal.SIGTERM, lambda: RunFolder(out).backed_up_epochs() >= 1, "a backed-up epoch")
    done = RunFolder(out).backed_up_epochs()
    assert done == 1 and (out / "model.keras").is_file()  # stopped in epoch 2, at the end of one of its batches
    again = run(command, message="Kept epoch")
    assert again.returncode == 0, again.output[-2000:]
    first_line = again.stdout.splitlines()[0]
    assert first_line.startswith(f"Resuming {out}: 1 epoch") and "from epoch 2 of 2" in first_line
    assert [r["epoch"] for r in read_history(out / "history.csv")] == [1, 2]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """1,200 PNG files (the shapes data at 64×64) and a CSV of one caption each."""
    return shapes_folder(tmp_path_factory.mktemp("photos"), 1200, seed=5, captions=1)


def test_features_stops_on_sigterm_and_resumes_from_its_shards(photos, tmp_path):
    cache = tmp_path / "cache"
    command = ["features", *photos, "--backbone", "small_vgg", "--image-size", "96", "--batch-size", "4", "--out", cache]
    stop(Child(command), signal.SIGTERM, lambda: (cache / "shard_00000.json").is_file(), "a first shard")
    cached = sum(len(json.loads(p.read_text())["images"]) for p in cache.glob("shard_*.json"))
    assert cached % 64 == 0 and 0 < cached < 1200  # whole shards of 16 batches of 4
    again = run(command, message="holds")
    assert again.returncode == 0, again.output[-2000:]
    assert again.stdout.splitlines()[0] == (f"Resuming the feature cache in {cache}: {cached:,} images already "
                                            "cached; the others are extracted now.")
    assert f"{cache} holds 1,200 images (0 unreadable)" in again.stdout


def test_tune_stops_on_ctrl_c_and_resumes_its_trials(tmp_path):
    directory = tmp_path / "tuning"
    command = ["tune", "--data", "shapes:120", "--algorithm", "random", "--max-trials", "2", "--max-epochs", "1",
               "--directory", directory, "--set", "units=16", "--set", "embed_dim=8", "--set", "attention_dim=8",
               "--set", "attention=soft", "--val-images", "8", "--batch-size", "32"]

    def completed():
        return sum('"status": "COMPLETED"' in p.read_text() for p in (directory / "search").glob("trial_*/trial.json"))

    stop(Child(command), signal.SIGINT, lambda: completed() >= 1, "a completed trial")
    done = completed()
    assert done == 1
    again = run(command, message="results.csv")
    assert again.returncode == 0, again.output[-2000:]
    assert again.stdout.splitlines()[0].startswith(f"Resuming the search in {directory / 'search'}: ")
    assert f": {done} finished trial" in again.stdout.splitlines()[0]
    assert completed() == 2
