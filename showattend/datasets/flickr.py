"""Flickr8k / Flickr30k token files: ``IMAGE.jpg#N<TAB>caption`` per line, N = 0..4.

Flickr8k ships ``Flickr8k.token.txt`` and the image lists ``Flickr_8k.trainImages.txt``,
``Flickr_8k.devImages.txt`` and ``Flickr_8k.testImages.txt``; Flickr30k ships
``results_20130124.token`` (the same format) and no lists.
"""
import os

from showattend.datasets.common import (AnnotationError, caption_text, check_image_dir, check_on_bad_image,
                                        examples, join_splits, make_dataset, read_text, warn_left_out)

__all__ = ["flickr"]  # read_tokens and read_image_list are its helpers


def flickr(token_file, image_dir, split_file=None, on_bad_image="error"):
    r"""The images of a Flickr token file with their captions; the image id is the file name.

    ``split_file`` is an image list (one file name per line, e.g. ``Flickr_8k.trainImages.txt``),
    or a list of them, that restricts the data to those images, in the list's order; listed images
    that have no caption in the token file are left out with one warning. An image in more than
    one of the lists is kept once (one warning says how many); a list that names an image twice is
    an AnnotationError naming the list. (Flickr8k's token file names one image,
    ``2258277193_586949ec62.jpg.1``, that is not in the image folder and in no list: read without a
    list, it needs ``on_bad_image="skip"``.)

    Args:
        token_file: the token file, e.g. ``Flickr8k.token.txt``.
        image_dir: the folder of the images it names, e.g. ``Flicker8k_Dataset``.
        split_file: None (every image of the token file), an image list, or a list of them.
        on_bad_image: ``"error"`` (an image file that is not on disk is an error) or ``"skip"``
            (left out, with one warning); kept in the dataset for the files that cannot be decoded.

    Returns:
        A CaptionDataset of absolute image paths, named ``"flickr"``, each image's captions in
        the token file's order.

    Raises:
        AnnotationError: a line that is not ``IMAGE#N<TAB>caption``, a repeated ``IMAGE#N``, a
            blank caption, an empty token file or image list, an image list that names an image
            twice, or lists of which no image has a caption.
        FileNotFoundError: no token file, image list or ``image_dir``, or images not on disk
            (with ``on_bad_image="error"``).
        ValueError: an unknown ``on_bad_image``.

    Examples:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("Flicker8k_Dataset", exist_ok=True)
        >>> for name in ("1000.jpg", "1001.jpg"):
        ...     Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(os.path.join("Flicker8k_Dataset", name))
        >>> with open("Flickr8k.token.txt", "w") as f:
        ...     _ = f.write("1000.jpg#0\tA dog runs .\n1000.jpg#1\tA brown dog .\n1001.jpg#0\tTwo cats sleep .\n")
        >>> with open("Flickr_8k.trainImages.txt", "w") as f:
        ...     _ = f.write("1001.jpg\n")
        >>> data = flickr("Flickr8k.token.txt", "Flicker8k_Dataset")
        >>> len(data), data.image_ids, data.captions[0]
        (2, ['1000.jpg', '1001.jpg'], ['A dog runs .', 'A brown dog .'])
        >>> flickr("Flickr8k.token.txt", "Flicker8k_Dataset", split_file="Flickr_8k.trainImages.txt").captions
        [['Two cats sleep .']]
    """
    check_on_bad_image(on_bad_image)
    image_dir = check_image_dir(image_dir)
    captions = read_tokens(token_file)
    names = list(captions)
    if split_file is not None:
        files = list(dict.fromkeys([split_file] if isinstance(split_file, (str, os.PathLike)) else split_file))
        source = " + ".join(repr(os.fspath(f)) for f in files)
        # An image in two lists is kept once (its captions are the token file's either way); a list
        # that names an image twice is broken.
        listed, _, _ = join_splits([(f, name, [], None) for f in files for name in read_image_list(f)],
                                   repr(os.fspath(token_file)), f"image lists {source}",
                                   where=lambda f: repr(os.fspath(f)))
        names = [name for name in listed if name in captions]
        if not names:
            raise AnnotationError(f"None of the {len(listed)} images listed in {source} has a caption in "
                                  f"{os.fspath(token_file)!r}, e.g. {examples(listed)}: is it the token file of "
                                  "the same dataset?")
        warn_left_out(len(listed) - len(names), f"listed in {source} but without a caption in "
                      f"{os.fspath(token_file)!r}, e.g. {examples(n for n in listed if n not in captions)}",
                      repr(os.fspath(token_file)))
    return make_dataset([os.path.join(image_dir, name) for name in names], [captions[name] for name in names],
                        names, token_file, "flickr", on_bad_image)


def read_tokens(token_file):
    """``{image file name: [captions in the file's order]}`` from a token file."""
    path = os.fspath(token_file)
    captions, seen = {}, {}
    for number, line in enumerate(read_text(path, "Flickr token file").splitlines(), 1):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        key = key.strip()
        name = key.rpartition("#")[0] if "#" in key else key
        if not tab or not name:
            raise AnnotationError(f"{path!r}: line {number} should be 'IMAGE.jpg#N<TAB>caption', got {line[:80]!r}.")
        if name != key and key in seen:  # without '#N', a line per caption is fine
            raise AnnotationError(f"{path!r}: line {number} repeats {key!r} of line {seen[key]}; each IMAGE#N "
                                  "must appear once.")
        seen[key] = number
        captions.setdefault(name, []).append(caption_text(caption, f"line {number}", path))
    if not captions:
        raise AnnotationError(f"{path!r} has no captions (expected lines 'IMAGE.jpg#N<TAB>caption').")
    return captions


def read_image_list(path):
    """The file names of an image list, one per line (blank lines ignored)."""
    names = [line.strip() for line in read_text(path, "image list").splitlines() if line.strip()]
    if not names:
        raise AnnotationError(f"The image list {os.fspath(path)!r} is empty.")
    return names
