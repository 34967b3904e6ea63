"""A Captioner under tf.distribute: one step on a global batch split over 2 replicas moves the weights
as one step on one device (soft and hard), the REINFORCE baseline moves once, metrics are global, and
jit_compile defaults to what works. Two logical CPU devices need a fresh process: the step runs in
subprocesses (distributed_step.py) and prints what it measured."""
import json
import os
import subprocess
import sys

import pytest

from showattend.tuning.workers import free_port

SCRIPT = os.path.join(os.path.dirname(__file__), "distributed_step.py")
ENV = {**os.environ, "PYTHONPATH": os.getcwd()}


def result_of(output):
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(scope="module")
def mirrored():
    run = subprocess.run([sys.executable, SCRIPT, "mirrored"], env=ENV, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return result_of(run.stdout)


def check_equivalent(result, replicas):
    assert result["replicas"] == replicas
    assert result["max_weight_difference"] < 1e-5
    assert result["update_norm_ratio_median"] == pytest.approx(1.0, abs=1e-3)  # not 2: the loss is the global mean
    for name, value in result["logs_alone"].items():  # metrics aggregated over the replicas
        assert result["logs"][name] == pytest.approx(value, rel=1e-5, abs=1e-5), name


@pytest.mark.parametrize("attention", ["soft", "hard", "transformer"])
def test_a_step_over_two_replicas_equals_the_step_on_one_device(mirrored, attention):
    check_equivalent(mirrored[attention], replicas=2)


def test_one_device_strategy_trains_as_without_a_strategy(mirrored):
    check_equivalent(mirrored["one_device"], replicas=1)


def test_the_reinforce_baseline_moves_once_per_step_with_the_global_batch(mirrored):
    hard = mirrored["hard"]
    assert hard["baseline_alone"] < 0  # it moved towards the (negative) log-likelihood per word
    assert hard["baselines"] == [pytest.approx(hard["baseline_alone"], abs=1e-6)] * 2  # both replicas' copies


def test_fused_adam_updates_every_replica_as_on_one_device(mirrored):
    adam = mirrored["adam"]
    assert adam["moved"] > 1e-2  # three steps at 1e-2 moved the weights
    assert adam["max_weight_difference"] < 1e-5
    assert adam["max_replica_difference"] == 0.0  # both devices' copies took the same update


def test_jit_compile_defaults_to_what_works_under_several_replicas(mirrored):
    assert mirrored["soft"]["jit_compile"] is False
    assert "jit_compile=True cannot train under MirroredStrategy with 2 replicas" in mirrored["jit_true_error"]
    assert "jit_compile='auto'" in mirrored["jit_true_error"]


def test_fit_with_caption_metrics_and_captioning_under_mirrored_strategy(mirrored):
    assert {"loss", "val_loss", "val_bleu4", "val_cider"} <= set(mirrored["fit_logs"])
    assert isinstance(mirrored["caption"], str) and mirrored["caption"]


@pytest.fixture(scope="module")
def two_workers():
    ports = f"{free_port()},{free_port()}"
    workers = [subprocess.Popen([sys.executable, SCRIPT, "worker", str(i), ports], env=ENV, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    return [result_of(out) for out, _ in outputs]


@pytest.mark.parametrize("attention", ["soft", "hard", "transformer"])
def test_a_step_over_two_workers_equals_the_step_of_one_process(two_workers, attention):
    """distributed_train_step on 2 processes (MultiWorkerMirroredStrategy, 127.0.0.1), each with half
    of the global batch, moves the weights as one process's fit on the whole batch, and both workers
    end with the same weights."""
    first, second = (worker["loop"][attention] for worker in two_workers)
    for result in (first, second):
        assert result["moved"] > 1e-3
        assert result["max_weight_difference"] < 1e-5
        assert result["loss"] == pytest.approx(result["loss_alone"], rel=1e-5)
    assert first["checksum"] == second["checksum"]
    if attention == "hard":
        assert first["baseline"] == pytest.approx(first["baseline_alone"], abs=1e-6)


def test_two_epochs_over_two_workers_train_as_one_process_on_the_same_global_batches(two_workers):
    """fit_workers deals each worker its images and runs the same steps on both: 2 epochs on 2 workers
    give the weights of one process trained on each step's two halves side by side."""
    first, second = (worker["epochs"] for worker in two_workers)
    assert first["epochs"] == 2 and first["moved"] > 1e-3
    assert first["max_weight_difference"] < 1e-5 and second["max_weight_difference"] < 1e-5
    assert first["checksum"] == second["checksum"]


def test_multi_worker_mirrored_strategy_fit(two_workers):
    """Keras' own fit under MultiWorkerMirroredStrategy: skipped while it still fails, so that this test
    says when distributed_train_step's loop could give way to fit."""
    if all("Attempt to convert a value (" in worker.get("fit_error", "") and "PerReplica:{" in worker["fit_error"]
           for worker in two_workers):
        pytest.skip("Keras 3 cannot fit under MultiWorkerMirroredStrategy: even a one-Dense-layer model fails with "
                    "'ValueError: Attempt to convert a value (PerReplica:…' (keras-team/keras#20585, "
                    "tensorflow/tensorflow#72388). Several workers train with "
                    "showattend.distribution.distributed_train_step instead.")
    for worker in two_workers:
        check_equivalent(worker["fit"], replicas=2)
