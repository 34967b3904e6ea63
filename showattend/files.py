"""Writing files so that nothing a user made is lost: write to a partial file, then rename."""
import json
import os


def write_json(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically."""
    path = os.fspath(path)
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(partial, path)
    return path
