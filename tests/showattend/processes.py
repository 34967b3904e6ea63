"""Run `showattend` (or a script) in a child process and watch how it ends: its status, its output,
and how long it lived after it said what went wrong or after it was sent a signal."""
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time

# Seconds a program may take to exit after its error message or a signal: it stops at the next batch's end,
# which on a loaded 2-core machine (three pytest workers) took up to 10.04 s. Kubernetes and Slurm wait 30 s
# after their SIGTERM by default; a hang (a tf.data pipeline stuck in a destructor) never ends.
GRACE = 20.0
ENV = {**os.environ, "PYTHONPATH": os.getcwd(), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@dataclasses.dataclass
class Ended:
    returncode: int  # None: still running after the grace period, then killed
    stdout: str
    stderr: str
    lingered: float  # seconds from the message (or the signal) to the exit

    @property
    def output(self):
        return self.stdout + self.stderr


class Child:
    """A running command whose output is read as it comes, line by line."""

    def __init__(self, args, script=None, cwd=None):
        command = [sys.executable, script] if script else [sys.executable, "-m", "showattend.cli"]
        self.process = subprocess.Popen(command + [str(a) for a in args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=ENV, cwd=cwd)
        self.lines = {"stdout": [], "stderr": []}
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True) for name in self.lines]
        for reader in self._readers:
            reader.start()

    def _read(self, name):
        for line in getattr(self.process, name):
            self.lines[name].append((time.monotonic(), line))

    def text(self, name):
        return "".join(line for _, line in self.lines[name])

    def first(self, pattern):
        """When a line matching ``pattern`` was printed (either stream), or None."""
        times = [t for name in self.lines for t, line in list(self.lines[name]) if re.search(pattern, line)]
        return min(times, default=None)

    def wait_for(self, pattern, timeout):
        """Wait until a line matches ``pattern``; False if the process ended or ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.first(pattern) is not None:
                return True
            if self.process.poll() is not None:
                return self.first(pattern) is not None
            time.sleep(0.1)
        return False

    def send(self, signum):
        self.process.send_signal(signum)
        return time.monotonic()

    def end(self, since=None, message=None, timeout=600):
        """Wait for the exit. ``since`` (a time) or ``message`` (a pattern: from when it was printed)
        starts the GRACE clock; a process alive GRACE seconds after it is killed (returncode None)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            start = since if since is not None else (self.first(message) if message else None)
            if start is not None and time.monotonic() > start + GRACE or time.monotonic() > deadline:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                self._join()
                return Ended(None, self.text("stdout"), self.text("stderr"), float("inf"))
            time.sleep(0.1)
        ended = time.monotonic()
        self._join()
        start = since if since is not None else (self.first(message) if message else None)
        return Ended(self.process.returncode, self.text("stdout"), self.text("stderr"),
                     ended - start if start is not None else float("nan"))

    def _join(self):
        for reader in self._readers:
            reader.join(timeout=5)


def wait_until(ready, child, timeout=300):
    """Poll ``ready()`` until it is true; False if ``child`` ended or ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.process.poll() is None:
        if ready():
            return True
        time.sleep(0.2)
    return False


def run(args, message, script=None, cwd=None, timeout=600):
    """Run to the end; the GRACE clock starts when ``message`` is printed."""
    return Child(args, script=script, cwd=cwd).end(message=message, timeout=timeout)
