"""A folder of your own images with a captions file: CSV (``image,caption``) or JSON Lines."""
import csv
import io
import json
import os

from showattend.datasets.common import (AnnotationError, caption_text, check_image_dir, check_on_bad_image, field,
                                        make_dataset, read_text)

JSONL_EXTENSIONS = (".jsonl", ".ndjson", ".json")


def folder(image_dir, captions_file, on_bad_image="error"):
    r"""Images in ``image_dir`` with the captions that ``captions_file`` gives them.

    ``captions_file`` is either a CSV file with a header that has ``image`` and ``caption``
    columns (read with the csv module, so captions may hold commas and quoted quotes), or JSON
    Lines (``.jsonl``, ``.ndjson``, ``.json``; other names are told apart by their first
    character), one object per line, or a JSON array of the same objects: ``{"image": "a.jpg", "caption": "…"}`` or
    ``{"image": "a.jpg", "captions": ["…", "…"]}``. An image may have many rows: they are grouped,
    in the order they first appear. Image paths are relative to ``image_dir`` (absolute paths are
    kept); the image id is the path as the file writes it.

    Args:
        image_dir: the folder the image paths of ``captions_file`` are relative to.
        captions_file: the CSV, JSON Lines or JSON file of captions.
        on_bad_image: ``"error"`` (an image file that is not on disk is an error) or ``"skip"``
            (left out, with one warning); kept in the dataset for the files that cannot be decoded.

    Returns:
        A CaptionDataset of absolute image paths, named ``"folder"``.

    Raises:
        AnnotationError: the captions file is empty, invalid CSV or JSON, lacks the ``image`` or
            ``caption`` column or key, or has a blank image name or caption.
        FileNotFoundError: no captions file, no ``image_dir``, or images not on disk (with
            ``on_bad_image="error"``).
        ValueError: an unknown ``on_bad_image``.

    Examples:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("photos", exist_ok=True)
        >>> for name in ("beach.png", "park.png"):
        ...     Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(os.path.join("photos", name))
        >>> with open("photos/captions.csv", "w") as f:
        ...     _ = f.write('image,caption\n'
        ...                 'beach.png,"a dog runs on the beach, chasing a ball"\n'
        ...                 'park.png,a child on a swing\n'
        ...                 'beach.png,"a ""happy"" dog"\n')
        >>> data = folder("photos", "photos/captions.csv")
        >>> data.image_ids, data.captions[0]
        (['beach.png', 'park.png'], ['a dog runs on the beach, chasing a ball', 'a "happy" dog'])
    """
    check_on_bad_image(on_bad_image)
    image_dir = check_image_dir(image_dir)
    text = read_text(captions_file, "captions file")
    extension = os.path.splitext(os.fspath(captions_file))[1].lower()
    is_jsonl = extension in JSONL_EXTENSIONS or extension != ".csv" and text.lstrip()[:1] in ("{", "[")
    rows = _jsonl_rows(text, captions_file) if is_jsonl else _csv_rows(text, captions_file)
    grouped = {}
    for image, captions in rows:
        grouped.setdefault(image, []).extend(captions)
    if not grouped:
        raise AnnotationError(f"{os.fspath(captions_file)!r} has no captions.")
    names = list(grouped)
    return make_dataset([os.path.join(image_dir, name) for name in names], [grouped[n] for n in names], names,
                        captions_file, "folder", on_bad_image)


def _csv_rows(text, path):
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None:
            raise AnnotationError(f"{os.fspath(path)!r} is empty; expected a CSV header 'image,caption'.")
        columns = [name.strip().lower() for name in header]
        if "image" not in columns or "caption" not in columns:
            raise AnnotationError(f"{os.fspath(path)!r}: the CSV header should name the columns 'image' and "
                                  f"'caption', got {header!r}.")
        image_column, caption_column = columns.index("image"), columns.index("caption")
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(image_column, caption_column):
                raise AnnotationError(f"{os.fspath(path)!r}: {where} has {len(row)} columns, fewer than the "
                                      f"header's {len(header)}: {row!r}.")
            yield _image_name(row[image_column], where, path), [caption_text(row[caption_column], where, path)]
    except csv.Error as error:
        raise AnnotationError(f"{os.fspath(path)!r} is not valid CSV: {error} (line {reader.line_num}).") from None


def _records(text, path):
    """(where, record) for each object: of a JSON array, or of JSON Lines."""
    if text.lstrip().startswith("["):  # a .json file holding one array of the same objects
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise AnnotationError(f"{os.fspath(path)!r} is not valid JSON: {error.msg} at line {error.lineno}, "
                                  f"column {error.colno}.") from None
        yield from ((f"[{i}]", record) for i, record in enumerate(records))
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as error:
            raise AnnotationError(f"{os.fspath(path)!r}: line {number} is not valid JSON: {error.msg} (column "
                                  f"{error.colno}).") from None


def _jsonl_rows(text, path):
    for where, record in _records(text, path):
        image = _image_name(field(record, "image", where, path, str), where, path)
        if "caption" not in record and "captions" not in record:
            raise AnnotationError(f"{os.fspath(path)!r}: {where} has no key 'caption' (a string) or 'captions' "
                                  f"(a list of strings); it has: {', '.join(record)}.")
        captions = [caption_text(record["caption"], f"{where}.caption", path)] if "caption" in record else []
        if "captions" in record:
            listed = field(record, "captions", where, path, list)
            captions += [caption_text(c, f"{where}.captions[{i}]", path) for i, c in enumerate(listed)]
        if not captions:
            raise AnnotationError(f"{os.fspath(path)!r}: {where} has an empty list of captions.")
        yield image, captions


def _image_name(value, where, path):
    if not value.strip():
        raise AnnotationError(f"{os.fspath(path)!r}: {where} has a blank image name.")
    return value.strip()
