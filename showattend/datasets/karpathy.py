"""Karpathy's split files: ``dataset_coco.json``, ``dataset_flickr8k.json``, ``dataset_flickr30k.json``.

One JSON per dataset: ``{"images": [{"filename", "filepath"?, "split", "imgid", "cocoid"?,
"sentences": [{"raw", "tokens", …}]}], "dataset"}``. COCO records have ``filepath``
(``train2014``/``val2014``) and ``cocoid``; Flickr records have neither; some copies have no
``tokens`` and some no ``raw``.
"""
import collections
import os

from showattend.datasets.common import (AnnotationError, caption_text, check_image_dir, check_on_bad_image,
                                        field, join_splits, make_dataset, parse_split, read_json, warn_left_out)

SPLITS = ("train", "val", "test", "restval")


def karpathy(json_path, image_root, split="train", on_bad_image="error"):
    """The images of ``split`` in a Karpathy split file, with their raw captions.

    ``split`` is ``train``, ``val``, ``test``, ``restval``, several joined by ``+`` (the usual
    COCO training set is ``"train+restval"``, 113,287 images) or ``all``. Images are read from
    ``image_root/filepath/filename``; the id is ``cocoid``, else ``imgid``, else the file name.
    Each caption is the sentence's ``tokens`` joined by spaces (Karpathy's tokenization, which most
    ports train on), or its ``raw`` text where a copy has no ``tokens``. A record without sentences
    is left out, with one warning.

    An image id that one split lists twice is an AnnotationError (the file is broken). An image in
    more than one of the splits asked for (tensorflow-datasets' test copy of ``dataset_coco.json``
    has one in both ``test`` and ``restval``) is kept once, with the captions of all its records in
    the file's order and exact repeats dropped; one warning says how many were merged.

    Args:
        json_path: the split file, e.g. ``dataset_coco.json``.
        image_root: the folder that ``filepath/filename`` is relative to (for COCO, the folder
            that holds ``train2014`` and ``val2014``).
        split: the split(s) to read, as above.
        on_bad_image: ``"error"`` (an image file that is not on disk is an error) or ``"skip"``
            (left out, with one warning); kept in the dataset for the files that cannot be decoded.

    Returns:
        A CaptionDataset of absolute image paths, named ``"<dataset>-<split>"`` after the file's
        ``dataset`` field (e.g. ``"coco-train+restval"``).

    Raises:
        AnnotationError: the file is not a Karpathy split file (invalid JSON, a missing key, a
            blank caption, an id that one split repeats) or ``split`` has no image with captions.
        FileNotFoundError: no split file, no ``image_root``, or images not on disk (with
            ``on_bad_image="error"``).
        ValueError: an unknown split or ``on_bad_image``.

    Examples:
        >>> import json, os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("flickr8k", exist_ok=True)
        >>> records = [
        ...     {"filename": "10.jpg", "imgid": 0, "split": "train",
        ...      "sentences": [{"tokens": ["a", "dog", "runs"], "raw": "A dog runs."}]},
        ...     {"filename": "11.jpg", "imgid": 1, "split": "restval", "sentences": [{"raw": "Two cats."}]},
        ...     {"filename": "12.jpg", "imgid": 2, "split": "test", "sentences": [{"raw": "A bird."}]}]
        >>> for record in records:
        ...     Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(os.path.join("flickr8k", record["filename"]))
        >>> with open("dataset_flickr8k.json", "w") as f:
        ...     json.dump({"images": records, "dataset": "flickr8k"}, f)
        >>> data = karpathy("dataset_flickr8k.json", "flickr8k", split="train+restval")
        >>> data.name, data.image_ids, data.captions
        ('flickr8k-train+restval', [0, 1], [['a dog runs'], ['Two cats.']])
    """
    check_on_bad_image(on_bad_image)
    image_root = check_image_dir(image_root, "image root")
    data = read_json(json_path, "Karpathy split file")
    records = field(data, "images", "the top level", json_path, list)
    parsed = [_record(record, f"images[{i}]", json_path) for i, record in enumerate(records)]
    counts = collections.Counter(p[0] for p in parsed)
    available = list(SPLITS) + sorted(set(counts) - set(SPLITS))
    wanted = parse_split(split, available, repr(os.fspath(json_path)))
    chosen = [p for p in parsed if p[0] in wanted]
    if not any(p[3] for p in chosen):
        have = ", ".join(f"{s} ({counts[s]} images)" for s in available if counts[s]) or "no images at all"
        raise AnnotationError(f"{os.fspath(json_path)!r} has no images with captions in split {split!r}; "
                              f"it has {have}.")
    # Repeats are looked for only among the splits asked for: one image in two splits is merged
    # (tensorflow-datasets' test copy of dataset_coco.json has one in test and restval).
    ids, captions, paths = join_splits([(p[0], p[2], p[3], p[1]) for p in chosen], repr(os.fspath(json_path)),
                                       f"splits {'+'.join(wanted)}")
    warn_left_out(sum(not refs for refs in captions), "no sentences", repr(os.fspath(json_path)))
    keep = [i for i, refs in enumerate(captions) if refs]
    name = data.get("dataset") if isinstance(data.get("dataset"), str) else "karpathy"
    return make_dataset([os.path.join(image_root, paths[i]) for i in keep], [captions[i] for i in keep],
                        [ids[i] for i in keep], json_path, f"{name}-{split}", on_bad_image, split=split)


def _record(record, where, path):
    """One image record → (split, relative path, id, captions)."""
    split = field(record, "split", where, path, str)
    filename = field(record, "filename", where, path, str)
    filepath = field(record, "filepath", where, path, str) if "filepath" in record else ""  # Flickr has none
    if not filename.strip():
        raise AnnotationError(f"{os.fspath(path)!r}: {where}.filename is blank.")
    for key in ("cocoid", "imgid"):
        if key in record:
            image_id = field(record, key, where, path, (int, str))
            break
    else:
        image_id = filename
    sentences = field(record, "sentences", where, path, list)
    captions = [_sentence(sentence, f"{where}.sentences[{j}]", path) for j, sentence in enumerate(sentences)]
    return split, os.path.join(filepath, filename), image_id, captions


def _sentence(sentence, where, path):
    """A sentence's caption: its ``tokens`` joined by spaces, or its ``raw`` text where it has no tokens."""
    if isinstance(sentence, dict) and "tokens" in sentence:
        tokens = field(sentence, "tokens", where, path, list)
        if not all(isinstance(t, str) for t in tokens):
            raise AnnotationError(f"{os.fspath(path)!r}: {where}.tokens should be a list of strings, got {tokens!r}.")
        return caption_text(" ".join(tokens), f"{where}.tokens", path)
    if isinstance(sentence, dict) and "raw" not in sentence:
        raise AnnotationError(f"{os.fspath(path)!r}: {where} has no key 'raw' or 'tokens' (it has: "
                              f"{', '.join(sentence) or 'no keys'}).")
    return caption_text(field(sentence, "raw", where, path), f"{where}.raw", path)
