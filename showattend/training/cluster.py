"""The cluster of a run on several workers: its ``TF_CONFIG``, its strategy, which worker is the
chief, what the chief sends the others, and what happens when a worker is lost.

Every worker runs the same command. The chief (task 0 of the ``worker`` job, or the ``chief`` task
where the cluster has one) reads the backup, validates and writes the run's folder; the chief's
values are then sent to every worker through the strategy's collectives, so that all of them go on
with the same weights, epoch and validation scores.
"""
import hashlib
import json
import os
import re

import numpy as np
import tensorflow as tf

__all__ = ["WorkerLostError", "check_same_settings", "from_chief", "is_chief", "is_multi_worker", "lost_worker_error",
           "multi_worker_strategy", "task_name"]

# TensorFlow's collective strategy checks its peers from a thread, every 30 s by default, and aborts
# the collectives when one stops answering; checked every 5 s, with 5 s per attempt (3 attempts), a
# worker that is lost stops the others in well under 30 s.
HEALTH_CHECK_INTERVAL, HEALTH_CHECK_TIMEOUT = 5, 5

EXAMPLE = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
           '"task": {"type": "worker", "index": 0}}\'')


class WorkerLostError(RuntimeError):
    """A worker of the cluster stopped answering: training stopped on every worker.

    ``showattend train --multi-worker`` prints it and exits with status 1 on every worker left.

    Examples:
        >>> issubclass(WorkerLostError, RuntimeError)
        True
    """


def _cluster_config():
    """TF_CONFIG, checked: a ValueError that names what is wrong and shows a valid one."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(f"--multi-worker reads the cluster from the TF_CONFIG environment variable, which is not set. "
                         f"Set it on every host, each with its own task index, e.g. {EXAMPLE}.")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG={raw!r} is not JSON ({error}); it should look like {EXAMPLE}.") from None
    cluster, task = (config.get("cluster"), config.get("task")) if isinstance(config, dict) else (None, None)
    jobs = {job: hosts for job, hosts in (cluster or {}).items() if job in ("chief", "worker")} \
        if isinstance(cluster, dict) else {}
    if not jobs or not all(isinstance(hosts, list) and hosts for hosts in jobs.values()):
        raise ValueError(f"TF_CONFIG={raw!r} has no cluster of workers: it needs \"cluster\": {{\"worker\": "
                         "[\"host:port\", ...]}} (and optionally a \"chief\" job), as in " + EXAMPLE + ".")
    if not isinstance(task, dict) or task.get("type") not in jobs or not isinstance(task.get("index"), int) \
            or not 0 <= task["index"] < len(jobs[task["type"]]):
        raise ValueError(f"TF_CONFIG's task {task!r} is not one of its cluster's: it needs \"task\": {{\"type\": "
                         f"one of {sorted(jobs)}, \"index\": 0 to the job's size - 1}}, e.g. {EXAMPLE}.")
    return config


def multi_worker_strategy():
    """The ``MultiWorkerMirroredStrategy`` of the cluster that ``TF_CONFIG`` describes.

    Make it first in the process, before TensorFlow runs anything: TensorFlow sets up its
    collectives when the strategy is made. Its health check runs every 5 s, so a lost worker stops
    the others in seconds rather than leaving them waiting in an all-reduce.

    Returns:
        A ``tf.distribute.MultiWorkerMirroredStrategy``.

    Raises:
        ValueError: When ``TF_CONFIG`` is missing or malformed (the message shows a valid one), or
            when TensorFlow already ran in this process.

    Examples:
        >>> os.environ.pop("TF_CONFIG", None) and None
        >>> multi_worker_strategy()
        Traceback (most recent call last):
        ValueError: --multi-worker reads the cluster from the TF_CONFIG environment variable, which is not set. ...
    """
    _cluster_config()
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    extended = collective.CollectiveAllReduceExtended  # class attributes read by the health-check thread
    extended._check_health_interval, extended._check_health_timeout = HEALTH_CHECK_INTERVAL, HEALTH_CHECK_TIMEOUT
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ValueError(f"The multi-worker strategy must be made before TensorFlow runs anything in the process "
                         f"({error}): start a fresh process, or make it first.") from None


def is_multi_worker(strategy):
    """Whether ``strategy`` is a ``MultiWorkerMirroredStrategy``, whose steps Keras' ``fit`` cannot run.

    Args:
        strategy: A ``tf.distribute`` strategy.

    Returns:
        True for a ``MultiWorkerMirroredStrategy``.

    Examples:
        >>> is_multi_worker(tf.distribute.get_strategy())
        False
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """Whether this process is the chief of ``strategy``'s cluster.

    Args:
        strategy: A ``tf.distribute`` strategy.

    Returns:
        True on the chief, and always with one process.

    Examples:
        >>> is_chief(tf.distribute.get_strategy())
        True
    """
    return bool(strategy.extended.should_checkpoint)


def task_name(strategy):
    """This process's task in ``strategy``'s cluster, as ``TF_CONFIG`` names it.

    Args:
        strategy: A ``tf.distribute`` strategy.

    Returns:
        For instance "worker 1"; "the only worker" without a cluster.

    Examples:
        >>> task_name(tf.distribute.get_strategy())
        'the only worker'
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "the only worker"
    return f"{resolver.task_type} {resolver.task_id}"


def _gather_rows(strategy, rows):
    """Every replica's ``rows`` (a 1-D float64 array) and ``[is_chief, task id]``, gathered on every worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task = float(resolver.task_id if resolver is not None and resolver.task_id is not None else 0)
    mine = tf.constant(np.concatenate([[float(is_chief(strategy)), task], rows]), tf.float64)

    @tf.function
    def gather():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(mine[None], axis=0))

    return strategy.experimental_local_results(gather())[0].numpy()


def from_chief(strategy, values):
    """``values`` as the chief holds them, on every worker.

    Call it on every worker at the same point, with values of the same shapes and dtypes.

    Args:
        strategy: The run's strategy (any: with one process, the values come back as they are).
        values: A list of arrays or tensors.

    Returns:
        The chief's ``values``, a list of numpy arrays.

    Examples:
        >>> from_chief(tf.distribute.get_strategy(), [np.array([1.5, 2.0])])
        [array([1.5, 2. ])]
    """
    arrays = [np.asarray(v) for v in values]
    if not is_multi_worker(strategy):
        return arrays
    flat = np.concatenate([a.astype(np.float64).ravel() for a in arrays]) if arrays else np.zeros(0)
    rows = _gather_rows(strategy, flat)
    chief = rows[np.argmax(rows[:, 0]), 2:]
    out, start = [], 0
    for array in arrays:
        out.append(chief[start:start + array.size].reshape(array.shape).astype(array.dtype))
        start += array.size
    return out


def _digest(value):
    """A 48-bit digest of a JSON value, exact as a float64."""
    text = json.dumps(value, sort_keys=True, default=str)
    return float(int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big"))


def check_same_settings(strategy, settings):
    """Refuse to train when a worker was started with other ``settings`` than the chief's.

    Every worker calls it with its own settings, before the model is made; every worker raises the
    same error, so none is left waiting for the others.

    Args:
        strategy: The run's strategy.
        settings: A dict of JSON values: the command's settings, and what they led to (the number
            of training images, the vocabulary).

    Raises:
        ValueError: Naming each worker whose settings differ from the chief's, and the settings.

    Examples:
        >>> check_same_settings(tf.distribute.get_strategy(), {"epochs": 10})  # one process: nothing to compare
    """
    if not is_multi_worker(strategy):
        return
    keys = sorted(settings)
    rows = _gather_rows(strategy, np.array([_digest(settings[k]) for k in keys]))
    chief = rows[np.argmax(rows[:, 0])]
    differ = {}
    for row in rows:
        keys_differing = [k for k, a, b in zip(keys, row[2:], chief[2:]) if a != b]
        if keys_differing:
            differ[int(row[1])] = keys_differing
    if differ:
        named = "; ".join(f"worker {task}: {', '.join(k)}" for task, k in sorted(differ.items()))
        resolver = getattr(strategy, "cluster_resolver", None)
        mine = differ.get(resolver.task_id if resolver is not None and not is_chief(strategy) else None)
        here = f" This worker has {', '.join(f'{k}={settings[k]!r}' for k in mine)}."[:500] if mine else ""
        raise ValueError(f"A worker was started with other settings than the chief's ({named}).{here} Run the same "
                         "command, with the same data, on every host; only TF_CONFIG's task index differs.")


def lost_worker_error(error, strategy):
    """The ``WorkerLostError`` for a collective aborted by TensorFlow's health check.

    Args:
        error: The ``tf.errors.OpError`` raised in a step.
        strategy: The run's strategy.

    Returns:
        A ``WorkerLostError`` that names the lost worker, as TensorFlow's health check does.

    Examples:
        >>> error = tf.errors.UnavailableError(None, None, "Graph execution error:\\n\\nDetected at node x\\n"
        ...                                    "cluster check alive failed, /job:worker/replica:0/task:1 is down")
        >>> print(lost_worker_error(error, tf.distribute.get_strategy()))
        Training stopped on the only worker: worker 1 stopped answering (cluster check alive failed, ...
    """
    text = str(error)
    resolver = getattr(strategy, "cluster_resolver", None)
    me = (resolver.task_type, str(resolver.task_id)) if resolver is not None else None
    # TensorFlow names the lost task in several ways ("… is down", "remote target …", "Task … stopped sending
    # heartbeats"): the first task named that is not this one
    task = r"/job:(\w+)/replica:\d+/task:(\d+)"
    named = [m.groups() for pattern in (task + r"[^\n/]*?(?:is down|heartbeat)", r"remote target " + task, task)
             for m in re.finditer(pattern, text) if m.groups() != me]
    who = f"{named[0][0]} {named[0][1]}{_address(strategy, named[0][0], int(named[0][1]))}" if named else "a worker"
    said = re.search(r"(cluster check alive failed[^\n]*|Collective ops is aborted by: [^\n]*)", text)
    said = said.group(1).strip() if said else \
        next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return WorkerLostError(f"Training stopped on {task_name(strategy)}: {who} stopped answering ({said}). Every "
                           "worker stops; run the same command on every host to resume from the chief's last backup.")


def _address(strategy, job, index):
    """`` (host:port)`` of a task of ``strategy``'s cluster, or nothing where it is not known."""
    resolver = getattr(strategy, "cluster_resolver", None)
    try:
        return f" ({resolver.cluster_spec().task_address(job, index)})"
    except (AttributeError, ValueError, KeyError, IndexError):
        return ""
