"""COCO captions files: ``captions_train2014.json``, ``captions_val2014.json``.

``{"images": [{"id", "file_name", "height", "width"}], "annotations": [{"id", "image_id", "caption"}]}``.
"""
import os

from showattend.datasets.common import (AnnotationError, caption_text, check_image_dir, check_on_bad_image,
                                        field, make_dataset, read_json, warn_left_out)


def coco(captions_json, image_dir, on_bad_image="error"):
    """The images of a COCO captions file that have captions, read from ``image_dir/file_name``.

    The image id is the record's ``id`` (what a COCO results file reports). An image without any
    annotation is left out, with one warning that counts them; an annotation whose ``image_id`` is
    not among the images is an error. The file has no splits: ``showattend.datasets.load("coco:…")``
    draws a seeded validation split from it.

    Args:
        captions_json: the COCO captions file, e.g. ``annotations/captions_val2014.json``.
        image_dir: the folder of the images it names, e.g. ``val2014``.
        on_bad_image: ``"error"`` (an image file that is not on disk is an error) or ``"skip"``
            (left out, with one warning); kept in the dataset for the files that cannot be decoded.

    Returns:
        A CaptionDataset of absolute image paths, named ``"coco"``, with the captions stripped of
        surrounding whitespace.

    Raises:
        AnnotationError: the file is not a COCO captions file (invalid JSON, a missing key, a
            repeated image id, an annotation of an unknown image, a blank caption) or no image
            has a caption.
        FileNotFoundError: no captions file, no ``image_dir``, or images not on disk (with
            ``on_bad_image="error"``).
        ValueError: an unknown ``on_bad_image``.

    Examples:
        >>> import json, os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("val2014", exist_ok=True)
        >>> for name in ("COCO_1.jpg", "COCO_2.jpg"):
        ...     Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(os.path.join("val2014", name))
        >>> captions = {"images": [{"id": 1, "file_name": "COCO_1.jpg"}, {"id": 2, "file_name": "COCO_2.jpg"}],
        ...             "annotations": [{"id": 10, "image_id": 1, "caption": "A black square. "},
        ...                             {"id": 11, "image_id": 2, "caption": "Nothing but black."},
        ...                             {"id": 12, "image_id": 1, "caption": "A dark picture."}]}
        >>> with open("captions_val2014.json", "w") as f:
        ...     json.dump(captions, f)
        >>> data = coco("captions_val2014.json", "val2014")
        >>> len(data), data.image_ids, data.captions[0]
        (2, [1, 2], ['A black square.', 'A dark picture.'])
        >>> os.path.relpath(data.images[1])
        'val2014/COCO_2.jpg'
    """
    check_on_bad_image(on_bad_image)
    image_dir = check_image_dir(image_dir)
    data = read_json(captions_json, "COCO captions file")
    images = field(data, "images", "the top level", captions_json, list)
    annotations = field(data, "annotations", "the top level", captions_json, list)
    index, files = {}, []
    for i, record in enumerate(images):
        image_id = field(record, "id", f"images[{i}]", captions_json, (int, str))
        if image_id in index:
            raise AnnotationError(f"{os.fspath(captions_json)!r}: images[{i}] repeats image id {image_id!r} "
                                  f"of images[{index[image_id]}]; each image id must appear once.")
        index[image_id] = i
        file_name = field(record, "file_name", f"images[{i}]", captions_json, str)
        if not file_name.strip():
            raise AnnotationError(f"{os.fspath(captions_json)!r}: images[{i}].file_name is blank.")
        files.append(file_name)
    captions = [[] for _ in images]
    for j, annotation in enumerate(annotations):
        where = f"annotations[{j}]"
        image_id = field(annotation, "image_id", where, captions_json, (int, str))
        if image_id not in index:
            raise AnnotationError(f"{os.fspath(captions_json)!r}: {where} has image_id {image_id!r}, which is not "
                                  f"the id of any of the {len(images)} images in the file.")
        captions[index[image_id]].append(caption_text(field(annotation, "caption", where, captions_json),
                                                      f"{where}.caption", captions_json))
    keep = [i for i, refs in enumerate(captions) if refs]
    if not keep:
        raise AnnotationError(f"{os.fspath(captions_json)!r} has no image with a caption "
                              f"({len(images)} images, {len(annotations)} annotations).")
    warn_left_out(len(images) - len(keep), "no annotation", repr(os.fspath(captions_json)))
    ids = list(index)
    return make_dataset([os.path.join(image_dir, files[i]) for i in keep], [captions[i] for i in keep],
                        [ids[i] for i in keep], captions_json, "coco", on_bad_image)
