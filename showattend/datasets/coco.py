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

    >>> data = coco("annotations/captions_val2014.json", "val2014")  # doctest: +SKIP
    >>> len(data), data.image_ids[0], data.captions[0][0]  # doctest: +SKIP
    (40504, 391895, 'A man with a red helmet on a small moped on a dirt road. ')
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
