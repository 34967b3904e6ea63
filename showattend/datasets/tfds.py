"""Captioning data sets of tensorflow-datasets (``coco_captions``), exported once to image files.

Everything else in the package reads images from files (decoded lazily, in the pipeline), so each
example's image is written once to a folder and the dataset lists those files. tensorflow-datasets
is imported only when this reader runs.
"""
import io
import os
import re

from showattend.datasets.common import AnnotationError, check_on_bad_image, join_splits, make_dataset, warn_left_out
from showattend.files import atomic_write

CACHE = os.path.join("~", ".cache", "showattend", "tfds")
MAGIC = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG", ".png"), (b"GIF8", ".gif"), (b"BM", ".bmp"))


def tfds(name="coco_captions", split="train", data_dir=None, images_dir=None, on_bad_image="error"):
    """The examples of a tensorflow-datasets ``split`` as image files and their captions.

    The builder must have an ``image`` feature and ``captions/text`` (as ``coco_captions`` has);
    the id is ``image/id`` where the builder has it, else the example's index (counted across a
    union such as ``"train+restval"``). An image/id that one split has twice is an AnnotationError;
    one in more than one part of a union is kept once with the captions of all its examples, exact
    repeats dropped, and one warning says how many were merged. The data must be prepared already
    (``tfds build coco_captions``, or ``builder.download_and_prepare()``): this reader never
    downloads.

    Images are written to ``images_dir``, by default ``<data_dir>/showattend_images/<name>/<split>``,
    or ``~/.cache/showattend/tfds/<name>/<split>`` when ``data_dir`` is None. A JPEG the builder
    stores is written byte for byte (no decoding, no re-encoding), anything else as PNG. Files
    that exist already are kept, so a second call only reads the captions; each file is written
    under a partial name and renamed, so an interrupted export leaves no half-written image.

    Args:
        name: the tensorflow-datasets builder, e.g. ``"coco_captions"`` (a version may follow,
            ``"coco_captions/2014:1.1.0"``).
        split: the builder's split, or several joined by ``+`` (e.g. ``"train+restval"``).
        data_dir: tensorflow-datasets' data folder; None for its default (``TFDS_DATA_DIR``).
        images_dir: the folder the images are written to; None for the default above.
        on_bad_image: ``"error"`` or ``"skip"``, kept in the dataset for the files that cannot be
            decoded.

    Returns:
        A CaptionDataset of the exported image files, named ``"<name>-<split>"``.

    Raises:
        ValueError: an unknown builder, one without ``image`` and ``captions/text`` features, an
            unknown split, an example that cannot be read, or an unknown ``on_bad_image``.
        FileNotFoundError: the data is not prepared in ``data_dir``.
        AnnotationError: no example with a caption, or an image/id that one split has twice.

    Examples:
        Needs a download for real data: ``coco_captions`` prepared once with
        ``tfds build coco_captions`` (the COCO 2014 images). The first lines read it:

        >>> data = tfds("coco_captions", split="val", data_dir="~/tensorflow_datasets")  # doctest: +SKIP
        >>> len(data), data.name  # doctest: +SKIP
        (5000, 'coco_captions-val')

        ``tfds.testing.mock_data`` stands in for the prepared data (random images and captions):

        >>> import os
        >>> import tensorflow_datasets
        >>> with tensorflow_datasets.testing.mock_data(num_examples=2):
        ...     data = tfds("coco_captions", split="val", data_dir="tensorflow_datasets")
        >>> len(data), data.name, os.path.relpath(os.path.dirname(data.images[0]))
        (2, 'coco_captions-val', 'tensorflow_datasets/showattend_images/coco_captions/val')
    """
    import tensorflow_datasets as tfds_lib

    check_on_bad_image(on_bad_image)
    builder = _builder(tfds_lib, name, data_dir)
    features = builder.info.features
    captions_feature = getattr(features["captions"], "feature", {}) if "captions" in features else {}
    if "image" not in features or "text" not in captions_feature:
        raise ValueError(f"tensorflow-datasets {name!r} has no 'image' and 'captions/text' features to caption "
                         f"with; it has: {', '.join(features)}.")
    if images_dir is None:
        root = CACHE if data_dir is None else os.path.join(os.fspath(data_dir), "showattend_images")
        images_dir = os.path.join(root, _safe(name), _safe(split))
    images_dir = os.path.abspath(os.path.expanduser(os.fspath(images_dir)))
    source = f"tfds:{name} split {split!r}"
    # Each part of a union is read on its own so that an image in two of them (the same image/id)
    # can be told from one that a split lists twice; an index still counts across the union.
    parts = list(dict.fromkeys(part.strip() for part in split.split("+"))) if isinstance(split, str) else [split]
    rows, without = [], 0
    examples = ((part, example) for part in parts for example in _examples(tfds_lib, builder, part, source))
    for index, (part, example) in enumerate(examples):
        texts = [t.decode("utf-8", errors="replace").strip() for t in example["captions"]["text"]]
        texts = [t for t in texts if t]
        if not texts:
            without += 1
            continue
        if "image/id" in example:
            image_id = _plain(example["image/id"])
            stem = _safe(image_id)
        else:  # an index is only unique within its split, and a folder may be shared by splits
            image_id = index
            stem = f"{_safe(split)}_{index:07d}"
        if not rows:
            os.makedirs(images_dir, exist_ok=True)
        # written as read (a split's images need not fit in memory); an image/id that an earlier
        # part had is on disk already
        rows.append((part, image_id, texts, _export(example["image"], os.path.join(images_dir, stem))))
    warn_left_out(without, "no caption", source)
    if not rows:
        raise AnnotationError(f"{source} has no examples with captions.")
    ids, captions, paths = join_splits(rows, source, f"splits {'+'.join(map(str, parts))}",
                                       where=lambda part: f"tfds:{name} split {part!r}")
    return make_dataset(paths, captions, ids, source, f"{name}-{split}", on_bad_image, split=split)


def _builder(tfds_lib, name, data_dir):
    try:
        return tfds_lib.builder(name, data_dir=None if data_dir is None else os.path.expanduser(os.fspath(data_dir)))
    except tfds_lib.core.DatasetNotFoundError as error:
        first_line = str(error).splitlines()[0]
        raise ValueError(f"{first_line} (tensorflow-datasets {tfds_lib.__version__}); for captions use e.g. "
                         "'coco_captions'. `tfds.list_builders()` lists them all.") from None


def _examples(tfds_lib, builder, split, source):
    """The numpy examples of ``split``: ``image`` (encoded bytes where possible), ``image/id``, captions."""
    import tensorflow as tf

    wanted = {"image": True, "captions": {"text": True}}
    if "image/id" in builder.info.features:
        wanted["image/id"] = True
    # Encoded bytes are asked for first: nothing to decode, and the original JPEG is kept. Under
    # tfds.testing.mock_data such a request fails on its first example (the mock cannot encode a
    # Sequence of captions), so then the images are decoded instead, and written as PNG.
    skip = {"image": tfds_lib.decode.SkipDecoding()}
    tries = [skip, None] if isinstance(builder.info.features["image"], tfds_lib.features.Image) else [None]
    for attempt, decoders in enumerate(tries):
        try:
            dataset = builder.as_dataset(split=split, shuffle_files=False,
                                         decoders=tfds_lib.decode.PartialDecoding(wanted, decoders=decoders))
        except AssertionError as error:  # what tfds raises for a dataset that was never prepared
            raise FileNotFoundError(
                f"{source}: the data is not prepared in {builder.data_dir!r} ({error}). Prepare it first "
                f"(`tfds build {builder.name}`; for COCO the archives may be placed in <data_dir>/downloads/manual/ "
                "to prepare offline), or pass data_dir= where it is.") from None
        except (ValueError, KeyError) as error:
            raise ValueError(f"{source}: {error}") from None
        count = 0
        try:
            for example in tfds_lib.as_numpy(dataset):
                yield example
                count += 1
        except tf.errors.OpError as error:
            if count == 0 and attempt + 1 < len(tries):
                continue
            message = str(error).strip().splitlines()[0]
            raise ValueError(f"{source}: reading example {count} failed: {message}") from None
        return


def _export(image, stem):
    """Write one example's image (encoded bytes or a uint8 array) unless its file exists; its path."""
    if isinstance(image, bytes):
        extension = next((ext for magic, ext in MAGIC if image.startswith(magic)), ".img")
    else:
        extension = ".png"
    path = stem + extension
    if not os.path.exists(path):
        atomic_write(path, lambda partial: _write(partial, image))
    return path


def _write(path, image):
    if isinstance(image, bytes):
        with open(path, "wb") as f:
            f.write(image)
        return
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def _plain(value):
    """A numpy id as a Python int or str (what a COCO results file and a file name need)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value.item() if hasattr(value, "item") else value


def _safe(text):
    """A name fit for a folder or file: ``coco_captions/2014:1.1.0`` → ``coco_captions_2014_1.1.0``."""
    return re.sub(r"[^A-Za-z0-9._+=-]", "_", str(text)).strip(".") or "_"
