"""Writing files so that nothing a user made is lost: write to a partial file, then rename."""
import json
import os


def atomic_write(path, write):
    """Call ``write(partial_path)`` and move the result onto ``path``; returns ``path``.

    The partial file keeps ``path``'s extension (``model.partial.keras``), so writers that choose
    their format by extension still work; if ``write`` fails, the partial file is removed and an
    existing file at ``path`` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        raise FileNotFoundError(f"No folder {directory!r} to write {os.path.basename(path)!r} into.")
    base, extension = os.path.splitext(path)
    partial = f"{base}.partial{extension}"
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    def write(partial):
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


def write_json(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path, advice="delete it to start anew"):
    """A JSON file's contents; a broken file is a ValueError that names it, its line, and ``advice``."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}): {advice}.") from None
