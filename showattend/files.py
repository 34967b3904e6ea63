"""Writing files so that nothing a user made is lost: write to a partial file, then rename.

A full disk while a file is written is a ``DiskFullError`` that names the file; the file that was
there before is left as it was and the partial file is removed. ``writable_folder`` checks a
folder given to write into (``--out``, a feature cache, a search's ``--directory``) before any work
starts.
"""
import errno
import json
import os
import tempfile

__all__ = ["DiskFullError", "UnwritableFolderError", "atomic_write", "read_json", "writable_folder", "write_json",
           "write_text"]

FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))  # no space left; the user's quota spent
COMPOUND_EXTENSIONS = (".weights.h5",)  # Keras chooses the format by these whole endings


class DiskFullError(OSError):
    """The disk (or the user's quota) filled up while a file was written; the message names the file.

    It is an ``OSError`` with ``errno.ENOSPC`` (or ``EDQUOT``) and ``filename`` set to the file that
    could not be written. ``atomic_write`` raises it; the ``showattend`` command turns it into its
    message and exit status 2.

    Args:
        path: The file that could not be written.
        cause: The ``OSError`` the write raised (its ``errno`` is kept when it is ``EDQUOT``).

    Examples:

        >>> import errno
        >>> error = DiskFullError("model.keras", OSError(errno.ENOSPC, "No space left on device"))
        >>> isinstance(error, OSError), error.errno == errno.ENOSPC, error.filename
        (True, True, 'model.keras')
        >>> print(error)
        The disk is full: could not write 'model.keras' (No space left on device); nothing partial is left behind. ...
    """

    def __init__(self, path, cause):
        code = cause.errno if cause.errno in FULL else errno.ENOSPC
        kept = " The earlier file there is kept as it was." if os.path.exists(path) else ""
        self.message = (f"The disk is full: could not write {path!r} ({cause.strerror or cause}); nothing partial "
                        f"is left behind.{kept} Free some space (or choose a folder on another disk) and run "
                        "again: a rerun goes on from what was saved.")
        super().__init__(code, self.message, path)

    def __str__(self):
        return self.message


class UnwritableFolderError(ValueError):
    """A folder given to write into that is a file, or that this process cannot create or write to.

    ``writable_folder`` raises it; it is a ``ValueError``, so the ``showattend`` command prints its
    message and exits with status 2.

    Examples:

        >>> _ = write_text("notes.txt", "a file, not a folder")
        >>> try:
        ...     writable_folder("notes.txt")
        ... except UnwritableFolderError as error:
        ...     print(error)
        --out 'notes.txt' is a file; it must be a folder (a new one, or one that holds earlier outputs). ...
    """


def _partial_path(path):
    for extension in COMPOUND_EXTENSIONS:
        if path.endswith(extension):
            return f"{path[:-len(extension)]}.partial{extension}"
    base, extension = os.path.splitext(path)
    return f"{base}.partial{extension}"


def atomic_write(path, write):
    """Call ``write(partial_path)`` and move the result onto ``path``; returns ``path``.

    The partial file keeps ``path``'s extension (``model.partial.keras``, ``checkpoint.partial.weights.h5``),
    so writers that choose their format by extension still work; if ``write`` fails, the partial file is
    removed and an existing file at ``path`` is left as it was.

    Args:
        path: The file to write.
        write: A function that writes the whole file to the path it is given.

    Returns:
        ``path``.

    Raises:
        DiskFullError: The disk filled up while writing (``errno.ENOSPC`` or ``EDQUOT``).
        FileNotFoundError: ``path``'s folder does not exist.

    Examples:

        >>> def write(partial):
        ...     with open(partial, "w") as f:
        ...         f.write("kept whole")
        >>> atomic_write("notes.txt", write)
        'notes.txt'
        >>> open("notes.txt").read()
        'kept whole'
        >>> def fail(partial):
        ...     with open(partial, "w") as f:
        ...         f.write("half")
        ...     raise OSError("the writer failed")
        >>> atomic_write("notes.txt", fail)
        Traceback (most recent call last):
        OSError: the writer failed
        >>> open("notes.txt").read(), os.path.exists("notes.partial.txt")
        ('kept whole', False)
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        raise FileNotFoundError(f"No folder {directory!r} to write {os.path.basename(path)!r} into.")
    partial = _partial_path(path)
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        if error.errno in FULL and not isinstance(error, DiskFullError):
            raise DiskFullError(path, error) from None
        raise
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically (see ``atomic_write``).

    Args:
        path: The file to write.
        text: A string.

    Returns:
        ``path``.

    Examples:

        >>> write_text("notes.txt", "héllo")
        'notes.txt'
        >>> open("notes.txt", encoding="utf-8").read()
        'héllo'
    """
    def write(partial):
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


def write_json(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically (see ``atomic_write``).

    Args:
        path: The file to write.
        data: Anything ``json.dumps`` takes.

    Returns:
        ``path``.

    Examples:

        >>> write_json("run.json", {"epochs": 2, "backbone": "small_vgg"})
        'run.json'
        >>> print(open("run.json").read())
        {
          "epochs": 2,
          "backbone": "small_vgg"
        }
    """
    return write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path, advice="delete it to start anew"):
    """A JSON file's contents; a broken file is a ValueError that names it, its line, and ``advice``.

    Args:
        path: The JSON file.
        advice: What the user should do about a broken file, ending the message.

    Returns:
        What the file holds (a dict, a list, ...).

    Raises:
        ValueError: When the file is not valid JSON (a write that was cut short, a hand edit).

    Examples:

        >>> _ = write_json("run.json", {"epochs": 2})
        >>> read_json("run.json")
        {'epochs': 2}
        >>> _ = write_text("broken.json", '{"epochs": ')
        >>> read_json("broken.json")
        Traceback (most recent call last):
        ValueError: broken.json is not valid JSON (Expecting value at line 1): delete it to start anew.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}): {advice}.") from None


def probe_writable(folder):
    """Create and remove a file in ``folder``, raising the ``OSError`` if that fails.

    The one test of writability that holds for every user (root ignores permission bits,
    ``os.access`` ignores read-only mounts).
    """
    descriptor, name = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
    os.close(descriptor)
    os.remove(name)


def writable_folder(path, what="--out"):
    """Make sure ``path`` is a folder this process can write into, creating it if needed; returns it.

    Args:
        path: The folder.
        what: How the user named it, for the message (``"--out"``, ``"the feature cache's folder"``).

    Returns:
        ``path``.

    Raises:
        UnwritableFolderError: ``path`` (or a folder above it) is a file, or the folder cannot be
            created or written to (read-only, another user's, a read-only mount).

    Examples:

        >>> writable_folder("runs/mine")
        'runs/mine'
        >>> os.path.isdir("runs/mine")
        True
    """
    folder = os.fspath(path)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UnwritableFolderError(f"{what} {folder!r} is a file; it must be a folder (a new one, or one that "
                                    "holds earlier outputs). Choose another path, or move the file away.")
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UnwritableFolderError(f"{what} {folder!r} cannot be made: a part of that path is a file, not a "
                                    "folder. Choose another path.") from None
    except OSError as error:
        raise UnwritableFolderError(f"{what} {folder!r} cannot be made ({error.strerror or error}): a folder "
                                    "this user can write to is needed. Choose another path.") from None
    try:
        probe_writable(folder)
    except OSError as error:
        raise UnwritableFolderError(f"{what} {folder!r} is not writable ({error.strerror or error}): a folder "
                                    "this user can create files in is needed. Choose another folder, or make "
                                    "this one writable.") from None
    return path
