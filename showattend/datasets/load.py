"""``load(spec)``: one entry point to every reader, with a seeded validation split where a source has none."""
import dataclasses
import os

import numpy as np

from showattend.datasets.coco import coco
from showattend.datasets.common import parse_split
from showattend.datasets.flickr import flickr
from showattend.datasets.folder import folder
from showattend.datasets.karpathy import karpathy
from showattend.datasets.shapes import shapes
from showattend.datasets.tfds import tfds

SPECS = ("karpathy:PATH", "coco:PATH", "flickr:PATH", "folder:PATH", "tfds:NAME", "shapes", "shapes:N")
SEEDED_SPLITS = ("train", "val", "all")
FLICKR8K_LISTS = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt",
                  "test": "Flickr_8k.testImages.txt"}


def load(spec, split="train", images=None, val_split=0.1, seed=0, on_bad_image="error", data_dir=None):
    r"""The CaptionDataset that ``spec`` names, for ``split``.

    ``spec`` is one of ``karpathy:PATH`` (a Karpathy split JSON), ``coco:PATH`` (a COCO captions
    JSON), ``flickr:PATH`` (a Flickr token file), ``folder:PATH`` (a CSV or JSON Lines captions
    file), ``tfds:NAME`` (a prepared tensorflow-datasets builder) or ``shapes`` (the built-in
    data; ``shapes:N`` has N training images and N/5 validation and test images, for quick
    runs). ``images`` is the folder the file's image names are relative to (the image root for
    Karpathy's ``filepath/filename``); the file-based sources need it, ``tfds`` takes it as the
    folder to export images to (and ``data_dir`` as tensorflow-datasets' own; by default tfds
    reads ``TFDS_DATA_DIR``).

    Karpathy files, tfds and shapes have their own splits (``"train+restval"`` joins). So does a
    Flickr token file that has Flickr8k's lists beside it (``Flickr_8k.trainImages.txt``,
    ``…devImages.txt`` as ``val``, ``…testImages.txt``). In a join, an image in more than one of
    the splits is kept once with the captions of all of them (one warning says how many); one split
    that lists an image twice is an AnnotationError. A source without splits (a COCO file, a
    folder, other Flickr files) is split by image: ``"val"`` is a seeded random ``val_split`` share
    of the images (at least one, and at least one left for ``"train"``), ``"train"`` the rest,
    ``"all"`` everything; the same ``seed`` gives the same split, and no image is in both.

    Args:
        spec: the source, as above.
        split: the split to read: ``"train"``, ``"val"``, ``"test"``, ``"all"``, or splits of
            the source joined by ``+``.
        images: the folder of the images (see above); None for ``shapes``, and for ``tfds`` its
            default export folder.
        val_split: the share of the images that ``"val"`` holds, for a source without splits
            (between 0 and 1).
        seed: the seed of that split.
        on_bad_image: ``"error"`` or ``"skip"``: what to do with an image file that is not on
            disk or cannot be decoded (see ``CaptionDataset``).
        data_dir: tensorflow-datasets' data folder, for ``tfds:NAME``.

    Returns:
        The CaptionDataset.

    Raises:
        ValueError: a spec that is not one of the above or lacks its path, ``shapes:N`` with N
            under 5, a ``val_split`` outside (0, 1), a file-based source without ``images``, or
            an unknown split.
        AnnotationError: an annotation file the reader cannot make sense of.
        FileNotFoundError: an annotation file, image folder or images not on disk.

    Examples:
        >>> data = load("shapes:20", split="val")
        >>> len(data), data.name
        (4, 'shapes-val')

        A folder of images with a captions file has no splits of its own; ``"val"`` is a seeded
        share of its images:

        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("photos", exist_ok=True)
        >>> with open("captions.csv", "w") as f:
        ...     _ = f.write("image,caption\n")
        ...     for n in range(10):
        ...         Image.fromarray(np.full((32, 32, 3), 20 * n, np.uint8)).save(f"photos/{n}.png")
        ...         _ = f.write(f"{n}.png,a grey square\n")
        >>> train, val = (load("folder:captions.csv", split=s, images="photos", val_split=0.2, seed=0)
        ...               for s in ("train", "val"))
        >>> len(train), len(val), set(train.image_ids) & set(val.image_ids)
        (8, 2, set())
    """
    if not isinstance(spec, str):
        raise ValueError(f"A dataset spec is a string such as 'coco:captions.json'; got {spec!r}. "
                         f"Accepted: {', '.join(SPECS)}.")
    source, colon, target = spec.partition(":")
    source, target = source.strip().lower(), target.strip()
    if source == "shapes":
        if not target:
            return shapes(split)
        if not target.isdigit() or int(target) < 5:
            raise ValueError(f"shapes:N takes a number of training images (at least 5), got {spec!r}.")
        return shapes(split, num_images=int(target) if split == "train" else max(1, int(target) // 5))
    if source not in ("karpathy", "coco", "flickr", "folder", "tfds") or not colon:
        raise ValueError(f"Unknown dataset spec {spec!r}. Accepted: {', '.join(SPECS)}.")
    if not target:
        raise ValueError(f"The spec {spec!r} needs a {'name' if source == 'tfds' else 'path'} after the colon, "
                         f"e.g. {source}:{'coco_captions' if source == 'tfds' else 'captions.json'}.")
    if not isinstance(val_split, (int, float)) or not 0 < val_split < 1:
        raise ValueError(f"val_split is the share of images held out for validation, between 0 and 1 (both "
                         f"excluded); got {val_split!r}.")
    if source == "tfds":
        return tfds(target, split=split, data_dir=data_dir, images_dir=images, on_bad_image=on_bad_image)
    if images is None:
        raise ValueError(f"{spec!r} needs images=, the folder that the image names in {target!r} are relative to.")
    path = os.path.expanduser(target)
    if source == "karpathy":
        return karpathy(path, images, split=split, on_bad_image=on_bad_image)
    if source == "flickr":
        lists = _flickr8k_lists(path)
        if lists:
            chosen = parse_split(split, list(lists), f"{spec!r} (with the Flickr8k image lists beside it)")
            data = flickr(path, images, split_file=[lists[name] for name in chosen], on_bad_image=on_bad_image)
            return dataclasses.replace(data, name=f"flickr-{split}")
        return seeded_split(flickr(path, images, on_bad_image=on_bad_image), split, val_split, seed, repr(spec))
    if source == "coco":
        data = coco(path, images, on_bad_image=on_bad_image)
    else:
        data = folder(images, path, on_bad_image=on_bad_image)
    return seeded_split(data, split, val_split, seed, repr(spec))


def test_split(spec):
    """The split to evaluate ``spec`` on by default.

    Args:
        spec: a dataset spec, as ``load`` takes it.

    Returns:
        ``"test"`` where the source has one, else ``"val"``: the seeded share that training held
        out (a COCO file, a folder, Flickr without Flickr8k's lists beside the token file).

    Examples:
        >>> test_split("karpathy:dataset_flickr8k.json"), test_split("folder:captions.csv")
        ('test', 'val')
    """
    source, _, target = str(spec).partition(":")
    source = source.strip().lower()
    if source in ("coco", "folder"):
        return "val"
    if source == "flickr":
        return "test" if _flickr8k_lists(os.path.expanduser(target.strip())) else "val"
    return "test"


def _flickr8k_lists(token_file):
    """{split: path} of Flickr8k's image lists beside ``token_file``, or {} unless all three are there."""
    folder = os.path.dirname(os.path.abspath(token_file))
    lists = {name: os.path.join(folder, file) for name, file in FLICKR8K_LISTS.items()}
    return lists if all(os.path.isfile(f) for f in lists.values()) else {}


def seeded_split(dataset, split, val_split=0.1, seed=0, source="the dataset"):
    """``dataset``'s ``"train"`` or ``"val"`` part of a seeded random partition by image, or ``"all"`` of it.

    ``val`` holds ``round(val_split · N)`` images, at least one, and at least one stays in
    ``train``; both keep the dataset's order.

    Args:
        dataset: a CaptionDataset without splits of its own.
        split: ``"train"``, ``"val"`` or ``"all"``.
        val_split: the share of the images that ``"val"`` holds.
        seed: the seed of the partition: the same seed, the same parts.
        source: what an error message calls the dataset.

    Returns:
        A CaptionDataset named ``"<dataset name>-<split>"``.

    Raises:
        ValueError: an unknown split, or fewer than two images to split.

    Examples:
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", num_images=20, image_size=24)
        >>> train, val = (seeded_split(data, s, val_split=0.25, seed=1) for s in ("train", "val"))
        >>> len(train), len(val), set(train.image_ids) & set(val.image_ids)
        (15, 5, set())
    """
    if split not in SEEDED_SPLITS:
        raise ValueError(f"Unknown split {split!r} for {source}, which has no splits of its own. Available: "
                         f"{', '.join(SEEDED_SPLITS)} (val is a seeded {val_split:.0%} of the images).")
    if split == "all":
        return dataclasses.replace(dataset, name=f"{dataset.name}-all")
    count = len(dataset)
    if count < 2:
        raise ValueError(f"{source} has {count} image; a train/val split needs at least 2 (or use split='all').")
    held_out = min(max(int(round(val_split * count)), 1), count - 1)
    order = np.random.default_rng(seed).permutation(count)
    chosen = np.sort(order[:held_out] if split == "val" else order[held_out:])
    part = dataset.subset(chosen.tolist())
    return dataclasses.replace(part, name=f"{dataset.name}-{split}")
