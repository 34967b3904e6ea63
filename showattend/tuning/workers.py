"""One search, many processes: a keras-tuner chief serving the oracle on the CPU and one worker per GPU.

keras-tuner's distributed mode is three environment variables: ``KERASTUNER_TUNER_ID`` ("chief",
"tuner0", "tuner1", …), ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``. Every process runs
the same command on the same ``--directory``; on several hosts, that directory is on a shared file
system and the IP is the chief's.
"""
import os
import socket
import subprocess
import sys
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now, for the chief's oracle.

    Returns:
        The port number, an int the system chose among its free ports.

    Examples:

        >>> import socket
        >>> port = free_port()
        >>> 0 < port < 65536
        True
        >>> with socket.socket() as server:  # free: the chief's oracle can listen on it
        ...     server.bind(("127.0.0.1", port))
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_gpus(text):
    """The GPU numbers of `showattend tune --gpus`, as ``CUDA_VISIBLE_DEVICES`` takes them.

    Args:
        text: Distinct GPU numbers separated by commas, e.g. "0,1".

    Returns:
        A list of strings, one per GPU, e.g. ["0", "1"].

    Raises:
        ValueError: When ``text`` names no GPU, a GPU that is not a number, or one twice.

    Examples:

        >>> parse_gpus("0,1"), parse_gpus(" 2, 3 ")
        (['0', '1'], ['2', '3'])
        >>> parse_gpus("0,0")
        Traceback (most recent call last):
        ...
        ValueError: --gpus takes distinct GPU numbers separated by commas, e.g. 0,1; got '0,0'.
    """
    gpus = [g.strip() for g in str(text).split(",") if g.strip()]
    if not gpus or not all(g.isdigit() for g in gpus) or len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus takes distinct GPU numbers separated by commas, e.g. 0,1; got {text!r}.")
    return gpus


def launch(command, gpus, log_dir, port=None, python=sys.executable):
    """Run one search as a chief (no GPU) and one worker process per GPU, and wait for them all.

    Each process runs ``python -m showattend.cli <command>`` with keras-tuner's environment
    variables set (``KERASTUNER_TUNER_ID`` "chief", "tuner0", "tuner1", …) and its GPU as
    ``CUDA_VISIBLE_DEVICES``; the workers start once the chief had time to serve the oracle.
    `showattend tune --gpus 0,1` calls it. Ctrl-C terminates them all.

    Args:
        command: The arguments after ``showattend``, e.g. ``["tune", "--data", "shapes"]``.
        gpus: The GPU numbers, one worker each (``parse_gpus``'s).
        log_dir: The folder each process writes its output to, as ``<id>.log``.
        port: The chief's oracle port on 127.0.0.1; by default a free one.
        python: The Python interpreter the processes run.

    Returns:
        A dict {id: exit code}, e.g. ``{"chief": 0, "tuner0": 0}``.

    Examples:

        Here a stand-in for Python prints what each process would run, instead of searching:

        >>> import os
        >>> with open("stand_in", "w") as script:
        ...     print("#!/bin/sh", file=script)
        ...     print('echo "$KERASTUNER_TUNER_ID, GPU [$CUDA_VISIBLE_DEVICES]: $*"', file=script)
        >>> os.chmod("stand_in", 0o755)
        >>> launch(["tune", "--data", "shapes"], gpus=["0", "1"], log_dir="logs", python="./stand_in")
        Started chief (CPU, serving the oracle on 127.0.0.1:...); log: logs/chief.log
        Started tuner0 (GPU 0); log: logs/tuner0.log
        Started tuner1 (GPU 1); log: logs/tuner1.log
        chief exited with 0
        tuner0 exited with 0
        tuner1 exited with 0
        {'chief': 0, 'tuner0': 0, 'tuner1': 0}
        >>> print(open("logs/tuner1.log").read())
        tuner1, GPU [1]: -m showattend.cli tune --data shapes
    """
    os.makedirs(log_dir, exist_ok=True)
    port = port or free_port()
    roles = [("chief", "")] + [(f"tuner{i}", gpu) for i, gpu in enumerate(gpus)]
    processes = {}
    for role, gpu in roles:
        env = {**os.environ, "KERASTUNER_TUNER_ID": role, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(port), "CUDA_VISIBLE_DEVICES": gpu}
        log = open(os.path.join(log_dir, f"{role}.log"), "w")
        processes[role] = (subprocess.Popen([python, "-m", "showattend.cli", *command], env=env, stdout=log,
                                            stderr=subprocess.STDOUT), log)
        print(f"Started {role} ({'GPU ' + gpu if gpu else 'CPU, serving the oracle on 127.0.0.1:%d' % port}); "
              f"log: {log.name}", flush=True)
        if role == "chief":
            time.sleep(2)  # let the oracle listen before the workers ask it for trials
    codes = {}
    try:
        for role, (process, log) in processes.items():
            codes[role] = process.wait()
            log.close()
            print(f"{role} exited with {codes[role]}", flush=True)
    except KeyboardInterrupt:
        for process, _ in processes.values():
            process.terminate()
        raise
    return codes
