"""`showattend train --multi-worker` on two worker processes of 127.0.0.1, each in a folder of its own
as on two hosts: the chief alone writes the run, a killed worker stops the other with its name, the
same command resumes from the chief's backup, and a worker with other settings is refused."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from showattend import load_captioner
from showattend.datasets import shapes
from showattend.training.cluster import check_same_settings, from_chief, multi_worker_strategy
from showattend.tuning.workers import free_port

ROOT = os.getcwd()
COMMAND = [sys.executable, "-m", "showattend.cli", "train", "--data", "shapes:48", "--backbone", "small_vgg",
           "--image-size", "32", "--out", "run", "--batch-size", "16", "--units", "16", "--embed-dim", "8",
           "--attention-dim", "8", "--val-images", "4", "--max-length", "10", "--multi-worker"]


def start(hosts, ports, extra=((), ())):
    """Both workers, each in its host's folder, with TF_CONFIG naming the cluster and its task."""
    processes = []
    for index, (host, more) in enumerate(zip(hosts, extra)):
        config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_CONFIG": json.dumps(config)}
        processes.append(subprocess.Popen(COMMAND + list(more), cwd=host, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    return processes


def history(host):
    path = os.path.join(host, "run", "history.csv")
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    folders = [str(tmp_path_factory.mktemp(name)) for name in ("chief", "worker")]
    return folders, [free_port(), free_port()]


@pytest.fixture(scope="module")
def killed(hosts):
    """Three epochs asked; worker 1 is killed once the first is written: when, and how the chief ended."""
    folders, ports = hosts
    chief, worker = start(folders, ports, extra=(("--epochs", "3"), ("--epochs", "3")))
    deadline = time.time() + 300
    while not history(folders[0]) and time.time() < deadline and chief.poll() is None:
        time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    killed_at = time.time()
    try:
        _, err = chief.communicate(timeout=120)
    finally:
        chief.kill()
    worker.communicate()
    return {"seconds": time.time() - killed_at, "status": chief.returncode, "stderr": err,
            "rows": len(history(folders[0]))}


def test_a_killed_worker_stops_the_chief_within_30_s_naming_it(killed):
    assert killed["rows"] >= 1
    assert killed["status"] == 1, killed["stderr"][-2000:]
    assert killed["seconds"] < 30
    last = killed["stderr"].strip().splitlines()[-1]
    assert last.startswith("showattend: error: Training stopped on worker 0: worker 1 (127.0.0.1:") and \
        "run the same command on every host to resume" in last
    assert "Traceback" not in killed["stderr"]


@pytest.fixture(scope="module")
def resumed(hosts, killed):
    """The same command on both hosts again, asking for 2 epochs in all."""
    folders, ports = hosts
    outputs = [p.communicate(timeout=600) for p in start(folders, ports, extra=(("--epochs", "2"),) * 2)]
    return outputs


def test_the_same_command_resumes_from_the_chiefs_backup_and_only_the_chief_writes(hosts, killed, resumed):
    (chief, worker), _ = hosts
    (out, err), (worker_out, worker_err) = resumed
    assert "Resuming run: 1 epoch done" in out, out + err[-2000:]
    assert [int(row["epoch"]) for row in history(chief)] == [1, 2]
    assert float(history(chief)[1]["loss"]) < float(history(chief)[0]["loss"])
    assert sorted(os.listdir(os.path.join(chief, "run"))) == ["backup", "config.json", "curves.png", "history.csv",
                                                              "kept_epoch.json", "model.keras", "vocabulary.json"]
    assert os.listdir(worker) == []  # the other worker wrote nothing, not even a folder
    assert "worker 1: training with the chief" in worker_out
    model = load_captioner(os.path.join(chief, "run", "model.keras"))
    captions = model.caption(shapes("test", 2, image_size=32).images)
    assert len(captions) == 2 and all(c.tokens for c in captions)


def test_a_worker_with_other_settings_is_refused_by_every_worker(hosts, resumed, tmp_path):
    folders = [str(tmp_path / "chief"), str(tmp_path / "worker")]
    for folder in folders:
        os.makedirs(folder)
    chief, worker = start(folders, [free_port(), free_port()], extra=(("--epochs", "1"), ("--epochs", "1",
                                                                                           "--seed", "7")))
    (_, chief_err), (_, worker_err) = chief.communicate(timeout=300), worker.communicate(timeout=300)
    assert chief.returncode == worker.returncode == 2
    assert "(worker 1: seed)" in chief_err.strip().splitlines()[-1]
    assert "This worker has seed=7" in worker_err.strip().splitlines()[-1]
    assert os.listdir(os.path.join(folders[0], "run")) == []  # refused before anything was written


def test_tf_config_errors_show_a_valid_one(monkeypatch):
    for value, said in ((None, "which is not set"), ("{cluster", "is not JSON"), ('{"task": {}}', "no cluster"),
                        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "task")):
        if value is None:
            monkeypatch.delenv("TF_CONFIG", raising=False)
        else:
            monkeypatch.setenv("TF_CONFIG", value)
        with pytest.raises(ValueError, match=said) as error:
            multi_worker_strategy()
        assert '"task": {"type": "worker", "index": 0}' in str(error.value)


def test_one_process_is_its_own_chief():
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    assert [v.tolist() for v in from_chief(strategy, [[1.5, 2.0], 3])] == [[1.5, 2.0], 3]
    check_same_settings(strategy, {"epochs": 3})  # nothing to compare with one process


@pytest.mark.parametrize("said", [
    "cluster check alive failed, /job:worker/replica:0/task:1 is down",
    "Collective ops is aborted by: failed to connect to all addresses\nAdditional GRPC error information from remote "
    "target /job:worker/replica:0/task:1 while calling /tensorflow.WorkerService/RecvBuf:",
    "Collective ops is aborted by: Error reported from /job:worker/replica:0/task:2: Task "
    "/job:worker/replica:0/task:1 heartbeat timeout. It stopped sending heartbeats"])
def test_the_lost_worker_is_named_however_tensorflow_says_it(said):
    import tensorflow as tf

    from showattend.training.cluster import lost_worker_error

    error = lost_worker_error(tf.errors.UnavailableError(None, None, "Graph execution error:\n\n" + said),
                              tf.distribute.get_strategy())
    assert str(error).startswith("Training stopped on the only worker: worker 1 stopped answering (")
