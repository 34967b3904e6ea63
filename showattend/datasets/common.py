"""Checks that every reader shares: reading annotation files, required fields, splits, and the
final assembly of a CaptionDataset (image files on disk, unique ids).

Every error names the file it is about and what was wrong in it, so that a bad line in a
123,000-image annotation file can be found without a debugger.
"""
import collections
import json
import os
import warnings

from showattend.data.dataset import BAD_IMAGE_CHOICES, CaptionDataset

__all__ = ["AnnotationError"]  # the rest are the readers' own helpers

SHOWN = 3  # how many bad items a message names before "…"


class AnnotationError(ValueError):
    """An annotation file that does not hold what its format needs; the message names the file.

    Every reader raises it (a ``ValueError``) for a file it cannot make sense of: invalid JSON or
    CSV, a missing key, a value of the wrong type, a blank caption, an id that repeats.

    Examples:
        >>> import json, os
        >>> from showattend.datasets import coco
        >>> os.makedirs("val2014", exist_ok=True)
        >>> with open("captions_broken.json", "w") as f:
        ...     json.dump({"images": [{"id": 7, "height": 32, "width": 32}], "annotations": []}, f)
        >>> coco("captions_broken.json", "val2014")
        Traceback (most recent call last):
        showattend.datasets.common.AnnotationError: 'captions_broken.json': images[0] has no key 'file_name'
        (it has: id, height, width).
    """


def check_on_bad_image(on_bad_image):
    if on_bad_image not in BAD_IMAGE_CHOICES:
        raise ValueError(f"on_bad_image must be one of {', '.join(map(repr, BAD_IMAGE_CHOICES))}; "
                         f"got {on_bad_image!r}.")
    return on_bad_image


def check_image_dir(image_dir, what="image folder"):
    """The folder as an absolute path; FileNotFoundError naming it if it is not a folder."""
    if image_dir is None:
        raise ValueError(f"An {what} is needed (the folder the annotation file's image names are relative to).")
    image_dir = os.path.abspath(os.path.expanduser(os.fspath(image_dir)))
    if not os.path.isdir(image_dir):
        raise FileNotFoundError(f"No {what} at {image_dir!r}.")
    return image_dir


def read_text(path, what):
    """The whole of a UTF-8 text file (a leading BOM dropped); errors name the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No {what} at {path!r}.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except UnicodeDecodeError as error:
        line = error.object[:error.start].count(b"\n") + 1
        raise AnnotationError(f"{path!r} is not UTF-8 text: {error.reason} at line {line}.") from None


def read_json(path, what):
    """Parse a JSON file; invalid JSON is an AnnotationError with the line and column."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(f"{os.fspath(path)!r} is not valid JSON: {error.msg} at line {error.lineno}, "
                              f"column {error.colno}.") from None


def type_names(types):
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object", float: "a number"}
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def field(record, key, where, path, types=None):
    """``record[key]``, where ``record`` is the JSON object at ``where`` (e.g. ``images[3]``).

    A record that is not an object, a missing key, or a value of the wrong type (``types``) is an
    AnnotationError that names the file, the record and the key.
    """
    if not isinstance(record, dict):
        raise AnnotationError(f"{os.fspath(path)!r}: {where} should be an object with key {key!r}, "
                              f"got {_short(record)}.")
    if key not in record:
        keys = ", ".join(map(str, record)) or "no keys"
        raise AnnotationError(f"{os.fspath(path)!r}: {where} has no key {key!r} (it has: {keys}).")
    value = record[key]
    if types is not None and (not isinstance(value, types) or isinstance(value, bool)):
        raise AnnotationError(f"{os.fspath(path)!r}: {where}.{key} should be {type_names(types)}, "
                              f"got {_short(value)}.")
    return value


def caption_text(value, where, path):
    """A caption: a non-blank string, surrounding whitespace removed."""
    if not isinstance(value, str):
        raise AnnotationError(f"{os.fspath(path)!r}: the caption at {where} should be a string, got {_short(value)}.")
    if not value.strip():
        raise AnnotationError(f"{os.fspath(path)!r}: the caption at {where} is blank.")
    return value.strip()


def _short(value, limit=60):
    text = repr(value)
    return f"{type(value).__name__} {text[:limit] + '…' if len(text) > limit else text}"


def examples(items):
    items = list(items)
    return ", ".join(map(repr, items[:SHOWN])) + (", …" if len(items) > SHOWN else "")


def parse_split(split, available, source):
    """``"train+restval"`` → ``["train", "restval"]``; ``"all"`` → every available split.

    An unknown name is a ValueError that lists the available ones.
    """
    if not isinstance(split, str) or not split.strip():
        raise ValueError(f"split must be a name such as 'train', got {split!r}.")
    if split.strip() == "all":
        return list(available)
    parts = list(dict.fromkeys(part.strip() for part in split.split("+")))
    for part in parts:
        if part not in available:
            raise ValueError(f"Unknown split {part!r} for {source}. Available: {', '.join(available)}, all "
                             "(join them with '+', e.g. 'train+val').")
    return parts


def warn_left_out(count, reason, source):
    if count:
        warnings.warn(f"{source}: {count} image{'s' if count > 1 else ''} left out: {reason}.", stacklevel=3)


def join_splits(rows, source, splits, where=None):
    """One entry per image of several splits read together, an image in more than one of them merged.

    A split that lists the same image id twice is a broken file; an image in two splits is not (in
    tensorflow-datasets' own test copy of ``dataset_coco.json`` one image is in both ``test`` and
    ``restval``), so a union such as ``"test+restval"`` keeps it once, at its first row, with the
    captions of all its rows in order, exact repeats dropped, and says so in one warning. An image
    in one split keeps its captions as they are.

    Args:
        rows: ``(split, image_id, captions, value)`` tuples in reading order; ``value`` is what the
            reader keeps per image (a path, say), taken from the image's first row.
        source: the file (or other source) that messages name, already quoted.
        splits: the splits read, as the warning names them, e.g. ``"splits test+restval"``.
        where: ``where(split)`` is what the error for a repeat within ``split`` names; by default
            ``source`` and the split's name.

    Returns:
        ``(image_ids, captions, values)``: three lists with one entry per image, in the order of
        each image's first row.

    Raises:
        AnnotationError: an image id that one split lists more than once, naming the id and the split.

    >>> ids, captions, values = join_splits(
    ...     [("train", 1, ["a cat"], "1.jpg"), ("test", 2, ["a dog"], "2.jpg"),
    ...      ("restval", 2, ["a dog", "one dog"], "2.jpg")], "'dataset.json'", "splits train+test+restval")
    >>> ids, captions, values
    ([1, 2], [['a cat'], ['a dog', 'one dog']], ['1.jpg', '2.jpg'])
    """
    rows = list(rows)
    where = where or (lambda split: f"{source} split {split!r}")
    for split in dict.fromkeys(row[0] for row in rows):
        check_unique([row[1] for row in rows if row[0] == split], where(split), "image id")
    first, captions = {}, {}
    for _, image_id, refs, value in rows:
        first.setdefault(image_id, value)
        captions.setdefault(image_id, []).append(list(refs))
    merged = sum(len(parts) > 1 for parts in captions.values())
    if merged:
        kept = "each kept once with their" if merged > 1 else "kept once with its"
        warnings.warn(f"{source}: {merged} image{'s' if merged > 1 else ''} listed in more than one of the {splits}; "
                      f"{kept} captions merged.", stacklevel=3)
    joined = [parts[0] if len(parts) == 1 else list(dict.fromkeys(c for refs in parts for c in refs))
              for parts in (captions[i] for i in first)]
    return list(first), joined, list(first.values())


def make_dataset(paths, captions, image_ids, source, name, on_bad_image, split=None):
    """A CaptionDataset of absolute ``paths`` after the checks every reader shares.

    Ids and files must be unique; every file must exist (one stat each). Files that do not are an
    error naming how many and the first few, or with ``on_bad_image="skip"`` are left out (one
    warning). ``source`` (the annotation file) is named in every message.
    """
    source = repr(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else str(source)
    check_unique(image_ids, source, "image id")
    check_unique(paths, source, "image file")
    missing = [i for i, p in enumerate(paths) if not os.path.isfile(p)]
    if missing and (on_bad_image == "error" or len(missing) == len(paths)):
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} images listed in {source} "
            f"{'is' if len(missing) == 1 else 'are'} not on disk, e.g. "
            f"{examples(paths[i] for i in missing)}. Check the image folder"
            + ("." if len(missing) == len(paths) else ", or pass on_bad_image='skip' to leave them out."))
    if missing:
        warn_left_out(len(missing), f"not on disk, e.g. {examples(paths[i] for i in missing)}", source)
        keep = sorted(set(range(len(paths))) - set(missing))
        paths, captions, image_ids = ([seq[i] for i in keep] for seq in (paths, captions, image_ids))
    if not paths:
        raise AnnotationError(f"{source} has no images" + (f" in split {split!r}." if split else "."))
    return CaptionDataset(list(paths), [list(refs) for refs in captions], name=name, image_ids=list(image_ids),
                          on_bad_image=on_bad_image)


def check_unique(values, source, what):
    counts = collections.Counter(values)
    repeated = [v for v, n in counts.items() if n > 1]
    if repeated:
        shown = ", ".join(f"{v!r} ({counts[v]} times)" for v in repeated[:SHOWN])
        raise AnnotationError(f"{source}: {len(repeated)} {what}{'s' if len(repeated) > 1 else ''} repeat: {shown}"
                              + (", …" if len(repeated) > SHOWN else "") + f". Each {what} must appear once.")
