"""One writer per folder: a lock file that names the process holding it.

`showattend train` holds ``RUN/training.lock`` for its whole run, ``tune`` holds
``DIR/PROJECT.lock`` and a feature extraction holds ``CACHE/extracting.lock``. The file holds the
holder's process id and command line; the holder also keeps an ``flock`` on it, which the system
lets go of when the process ends however it ends, so a lock left behind by a killed process is
taken over (and one whose holder used no ``flock`` is taken over once its process id is gone).
"""
import json
import os
import sys

try:
    import fcntl
except ImportError:  # not POSIX: the process id alone tells a live holder from a dead one
    fcntl = None

__all__ = ["FolderLock", "LockedError", "held"]

_HELD = set()  # the real paths of the lock files this process holds


class LockedError(FileExistsError):
    """A folder that another process is writing to; the message names that process.

    ``FolderLock`` raises it on entering. It is a ``FileExistsError``, so the ``showattend`` command
    prints its message and exits with status 2.

    Examples:

        >>> with FolderLock("training.lock", "training"):
        ...     try:
        ...         with FolderLock("training.lock", "training"):  # a second writer (here: the same process)
        ...             pass
        ...     except LockedError as error:
        ...         print(error)
        Another training (process ...) is writing to '.'; wait for it to finish, or stop it, before running
        this again. If no such process is running, delete 'training.lock'.
    """


def held(path):
    """Whether this process holds the lock file ``path`` now.

    A function that takes a lock can check it first, and so call itself inside the lock.

    Args:
        path: A lock file.

    Returns:
        True while a ``FolderLock`` of this process holds ``path``.

    Examples:

        >>> with FolderLock("training.lock", "training"):
        ...     held("training.lock")
        True
        >>> held("training.lock")
        False
    """
    return os.path.realpath(path) in _HELD


def command_line(pid):
    """The command line of process ``pid`` as one string (from ``/proc``), or None where it cannot be read."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    return text or None


def process_alive(pid):
    """Whether a process with id ``pid`` exists (one of another user's included)."""
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def read_holder(path):
    """What a lock file says about its holder: {"pid", "command", "flock"}; {} for an empty or unreadable file.

    Files written before the lock held a command line hold the bare process id.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except OSError:
        return {}
    if text.isdigit():
        return {"pid": int(text), "flock": False}
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


class FolderLock:
    """Holds ``path`` (a lock file) while a ``with`` block writes to its folder; a second holder is refused.

    Args:
        path: The lock file.
        what: What holds it, for the messages: "training", "search", "extraction".
        folder: The folder it keeps to one writer, for the messages (default: the lock file's).

    Raises:
        LockedError: On entering, when a live process holds the lock; the message gives its process id
            and command line and what to do.

    Examples:

        >>> with FolderLock("training.lock", "training"):
        ...     read_holder("training.lock")["pid"] == os.getpid()  # the file names its holder
        True
        >>> os.path.exists("training.lock")  # removed on leaving
        False
    """

    def __init__(self, path, what="run", folder=None):
        self.path, self.what = os.fspath(path), what
        self.folder = os.fspath(folder) if folder is not None else os.path.dirname(self.path) or "."
        self.descriptor = None
        self.took_over = None  # the holder of a stale lock this one replaced

    def __enter__(self):
        for _ in range(3):
            created = self._create()
            try:
                descriptor = os.open(self.path, os.O_RDWR)
            except FileNotFoundError:  # its holder let it go between our two looks: try again
                continue
            flocked = self._flock(descriptor)
            if flocked is None:
                os.close(descriptor)
                raise self._refusal(read_holder(self.path))
            if not _same_file(descriptor, self.path):  # let go and removed meanwhile: ours is a dead file
                os.close(descriptor)
                continue
            if not created:
                holder = read_holder(self.path)
                if _alive(holder):
                    os.close(descriptor)
                    raise self._refusal(holder)
                self.took_over = holder
            if not created or not flocked:  # a holder without an flock is judged by its process id
                self._write(descriptor, flocked)
            self.descriptor = descriptor
            _HELD.add(os.path.realpath(self.path))
            return self
        raise LockedError(f"Could not take the lock {self.path!r}: other processes keep taking and letting it go. "
                          f"Run again once they are done; if none is running, delete {self.path!r}.")

    def __exit__(self, *exc):
        if self.descriptor is None:
            return
        _HELD.discard(os.path.realpath(self.path))
        try:
            if _same_file(self.descriptor, self.path):
                os.remove(self.path)
        except OSError:
            pass
        finally:
            os.close(self.descriptor)  # lets go of the flock
            self.descriptor = None

    def _create(self):
        """Create the lock file, already naming this process (a reader never sees it empty); False if it exists."""
        partial = f"{self.path}.{os.getpid()}.partial"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(self._content(fcntl is not None))
        try:
            os.link(partial, self.path)  # atomic, and fails if the lock exists
            return True
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return False
            with os.fdopen(descriptor, "w", encoding="utf-8") as f:
                f.write(self._content(fcntl is not None))
            return True
        finally:
            os.remove(partial)

    @staticmethod
    def _content(flocked):
        return json.dumps({"pid": os.getpid(), "command": command_line(os.getpid()) or " ".join(sys.argv),
                           "flock": bool(flocked)}) + "\n"

    def _write(self, descriptor, flocked):
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, self._content(flocked).encode())

    @staticmethod
    def _flock(descriptor):
        """True: this process holds the flock; None: another does; False: no flock here (not POSIX, or a
        file system without it), so the process id decides."""
        if fcntl is None:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        except OSError:
            return False
        return True

    def _refusal(self, holder):
        pid = holder.get("pid")
        command = (command_line(pid) if pid else None) or holder.get("command")
        who = f"process {pid}" + (f": {command}" if command else "") if pid else "another process"
        return LockedError(f"Another {self.what} ({who}) is writing to {self.folder!r}; wait for it to finish, or stop "
                           f"it, before running this again. If no such process is running, delete {self.path!r}.")


def _alive(holder):
    """Whether the holder of a lock nobody holds an flock on is still running: never for one that took an
    flock (it would hold it still); for others, while their process id exists."""
    if not holder:
        return False
    if holder.get("flock") and fcntl is not None:
        return False
    return process_alive(holder.get("pid", 0)) if holder.get("pid") else False


def _same_file(descriptor, path):
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(path))
    except OSError:
        return False
