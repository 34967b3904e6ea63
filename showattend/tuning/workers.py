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
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_gpus(text):
    """"0,1" → ["0", "1"]; the devices named as CUDA_VISIBLE_DEVICES takes them."""
    gpus = [g.strip() for g in str(text).split(",") if g.strip()]
    if not gpus or not all(g.isdigit() for g in gpus) or len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus takes distinct GPU numbers separated by commas, e.g. 0,1; got {text!r}.")
    return gpus


def launch(command, gpus, log_dir, port=None, python=sys.executable):
    """Run ``python -m showattend.cli <command>`` as a chief (no GPU) and one worker per GPU in ``gpus``;
    each writes its output to ``log_dir/<id>.log``. Waits for all; returns {id: exit code}."""
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
