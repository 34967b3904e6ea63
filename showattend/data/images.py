"""Turn what a user calls an image (a path, a PIL image, an array) into RGB uint8 arrays.

Files are decoded by PIL, whatever their format (JPEG, PNG, GIF, WebP, TIFF, …) and mode:

- the EXIF orientation is applied, so the array is the picture as a viewer shows it;
- transparency (an alpha channel, a transparent palette entry) is composited over a **white**
  background, as a page or a browser shows the image;
- 16-bit greys (``I;16``) keep their high byte (``v >> 8``), so a 16-bit scan is not clipped to
  white; 32-bit integer (``I``) and float (``F``) images are scaled to 0..255 (``showattend.data.pixels``);
- a GIF or an animated WebP gives its first frame;
- with ``min_size``, a large JPEG is decoded at a reduced scale (libjpeg's DCT scaling, PIL's
  ``draft``) that is still at least ``min_size``: a 10,000-pixel photo is never decoded whole.

A file that PIL cannot read, or that ends early, raises ``BadImageError``: the pixels are decoded
inside ``load_image`` (PIL would otherwise decode lazily, later, where the error cannot name the
file), and ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is left False so a cut-off JPEG is an error
rather than a grey bottom half.

**The pixel limit.** A file whose header declares more than ``max_image_pixels()`` pixels (width ×
height; 89,478,485 by default, PIL's own ``PIL.Image.MAX_IMAGE_PIXELS``, about 0.25 GiB of RGB)
raises ``ImageTooLargeError`` naming the file, its size and the limit, before any pixel is
decoded: a decompression bomb (a few kilobytes of PNG or GIF that decode to gigabytes) is refused
instead of exhausting memory. Raise the limit for one process with
``showattend.data.images.MAX_IMAGE_PIXELS = 200_000_000``, or for every process (the ``showattend``
command included) with the environment variable ``SHOWATTEND_MAX_IMAGE_PIXELS``, read at each
file; the module setting wins when both are set. PIL's own guard still runs while a file is opened: it warns
above ``PIL.Image.MAX_IMAGE_PIXELS`` and refuses above twice that, so a limit above 178,956,970
pixels needs ``PIL.Image.MAX_IMAGE_PIXELS`` raised too (the error says so). Arrays and PIL images
handed over directly are not limited: they are already in memory (a PIL image was opened under
PIL's guard), so the guard against decoding has nothing to protect.

Array pixels must be finite numbers: NaN or ±inf in an array is a ``ValueError`` that counts them
(casting NaN to uint8 is undefined); finite values outside 0..255 are clipped, as documented.
"""
import io
import os
import re
import struct

import numpy as np
from PIL import Image, UnidentifiedImageError

from showattend.data.pixels import orientation, pil_to_array
from showattend.data.resize import resize_images, resize_tensor  # noqa: F401  (their old home)

ACCEPTED = ("a file path, a PIL image, a uint8 array of shape (H, W), (H, W, 1|3|4) or (N, H, W, 1|3|4), "
            "or a list of these")
# What PIL's plugins raise on damaged data: OSError (truncated, decoder errors), SyntaxError (bad
# PNG chunks, CRC), EOFError, struct.error (short headers) and ValueError/IndexError (bad tables).
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, EOFError, ValueError, IndexError, struct.error,
                  Image.DecompressionBombError)
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485  # PIL's default Image.MAX_IMAGE_PIXELS (1 GiB / 4 bytes / 3)
MAX_IMAGE_PIXELS = None  # set it to override SHOWATTEND_MAX_IMAGE_PIXELS and the default
MAX_PIXELS_VARIABLE = "SHOWATTEND_MAX_IMAGE_PIXELS"
_PIL_BOMB_PIXELS = re.compile(r"Image size \((\d+) pixels\)")  # the pixels in PIL's DecompressionBombError


class BadImageError(ValueError):
    """An image file that exists but cannot be decoded; the message names the file and the reason.

    A ``ValueError``, so code that checks its input with ``except ValueError`` catches it too.

    Examples:
        >>> import numpy as np
        >>> from PIL import Image
        >>> Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save("whole.png")
        >>> with open("whole.png", "rb") as f:
        ...     png = f.read()
        >>> with open("cut.png", "wb") as f:  # the first 60 bytes: a PNG that ends early
        ...     _ = f.write(png[:60])
        >>> load_image("cut.png")
        Traceback (most recent call last):
        showattend.data.images.BadImageError: 'cut.png' is not a readable image: image file is truncated...
    """


class ImageTooLargeError(BadImageError):
    """An image file with more pixels than ``max_image_pixels()`` (see the module's pixel limit).

    A ``BadImageError``, so a dataset with ``on_bad_image="skip"`` leaves such a file out.

    Examples:
        >>> import numpy as np
        >>> from PIL import Image
        >>> from showattend.data import images
        >>> Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save("small.png")
        >>> images.MAX_IMAGE_PIXELS = 100  # a low limit, to show the error
        >>> load_image("small.png")
        Traceback (most recent call last):
        showattend.data.images.ImageTooLargeError: 'small.png' is 32×32 = 1,024 pixels, more than the limit of
        100 pixels (a guard against decompression bombs). To read it, set ...MAX_IMAGE_PIXELS, ...
        >>> images.MAX_IMAGE_PIXELS = None  # back to the default
    """


def max_image_pixels():
    """The most pixels (width × height) an image file may declare for ``load_image`` to decode it.

    Returns:
        ``MAX_IMAGE_PIXELS`` of this module if set, else the environment variable
        ``SHOWATTEND_MAX_IMAGE_PIXELS`` if set, else 89,478,485 (PIL's default limit).

    Raises:
        ValueError: if the setting is not a positive whole number, naming it and where it came from.

    Examples:
        >>> max_image_pixels()
        89478485
    """
    if MAX_IMAGE_PIXELS is not None:
        value, source = MAX_IMAGE_PIXELS, "showattend.data.images.MAX_IMAGE_PIXELS"
    elif os.environ.get(MAX_PIXELS_VARIABLE, "").strip():
        value, source = os.environ[MAX_PIXELS_VARIABLE].strip(), f"The environment variable {MAX_PIXELS_VARIABLE}"
    else:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        limit = int(value)
        valid = limit >= 1 and not isinstance(value, (bool, float))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"{source} must be a whole number of pixels, at least 1 (e.g. 200000000); got {value!r}.")
    return limit


def _too_large(path, pixels, size=None):
    """The ImageTooLargeError for a file of ``pixels`` (``size`` (width, height) where known)."""
    limit, pil_limit = max_image_pixels(), Image.MAX_IMAGE_PIXELS
    shape = f"{size[0]}×{size[1]} = " if size else ""
    over_pil = pil_limit is not None and pixels > 2 * pil_limit
    how = (f"set showattend.data.images.MAX_IMAGE_PIXELS, or the environment variable {MAX_PIXELS_VARIABLE}, "
           f"to {pixels} or more")
    pil = (f"PIL.Image.MAX_IMAGE_PIXELS to {-(-pixels // 2)} or more (or None): PIL refuses a file over twice its "
           "own limit while opening it")
    if pixels > limit:
        message = (f"{path!r} is {shape}{pixels:,} pixels, more than the limit of {limit:,} pixels (a guard against "
                   f"decompression bombs). To read it, {how}" + (f", and {pil}." if over_pil else "."))
    else:
        message = (f"{path!r} is {shape}{pixels:,} pixels: within showattend's limit of {limit:,} but over twice "
                   f"PIL's own ({2 * pil_limit:,} pixels). To read it, set {pil}.")
    return ImageTooLargeError(message)


def load_image(path, min_size=None):
    """Read an image file as an RGB uint8 array of shape (H, W, 3), EXIF orientation applied.

    ``min_size=(height, width)`` lets a large JPEG decode at 1/2, 1/4 or 1/8 scale, never below
    ``min_size`` (in the orientation the picture is shown in), so that a later resize to
    ``min_size`` is still a downscale; other formats, and smaller JPEGs, decode at full size.

    Args:
        path: the image file (a str or os.PathLike).
        min_size: (height, width) the image will be resized to, or None.

    Returns:
        A uint8 array (H, W, 3).

    Raises:
        FileNotFoundError: no file at ``path``.
        ImageTooLargeError: the file declares more pixels than ``max_image_pixels()``.
        BadImageError: the file is not an image PIL can decode, or ends early.
        ValueError: a bad ``min_size``.

    Examples:
        >>> import numpy as np
        >>> from PIL import Image
        >>> pixels = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
        >>> Image.fromarray(pixels).save("photo.jpg")
        >>> load_image("photo.jpg").shape
        (300, 400, 3)
        >>> load_image("photo.jpg", min_size=(100, 100)).shape  # decoded at half scale
        (150, 200, 3)
    """
    path = os.fspath(path)
    min_size = _check_min_size(min_size)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No image file at {path!r}.")
    return _decode(path, path, min_size)


def decode_image(data, name, min_size=None):
    """``load_image`` for a file's bytes already in memory (an upload), its errors naming ``name``.

    Args:
        data: the file's bytes.
        name: what to call the file in an error (its name as the user gave it).
        min_size: (height, width) the image will be resized to, or None.

    Returns:
        A uint8 array (H, W, 3).

    Raises:
        ImageTooLargeError: the bytes declare more pixels than ``max_image_pixels()``.
        BadImageError: the bytes are not an image PIL can decode, or end early.

    Examples:
        >>> decode_image(b"not an image", "notes.txt")
        Traceback (most recent call last):
        ...
        showattend.data.images.BadImageError: 'notes.txt' is not a readable image: not an image format PIL knows (JPEG, PNG, GIF, WebP, TIFF, BMP, …)
    """
    return _decode(io.BytesIO(bytes(data)), str(name), _check_min_size(min_size))


def check_image_file(path):
    """Read only an image file's header: what ``load_image`` would refuse before decoding, refused now.

    Checking every file this way takes milliseconds, so a command can name a missing file, a file
    that is not an image, or one over the pixel limit before it spends seconds loading a model. A
    file that is cut off after its header still passes: ``load_image`` names it when it decodes.

    Args:
        path: the image file (a str or os.PathLike).

    Returns:
        The image's (width, height) as its header declares it.

    Raises:
        FileNotFoundError: no file at ``path``.
        ImageTooLargeError: the file declares more pixels than ``max_image_pixels()``.
        BadImageError: the file is not an image PIL can identify.

    Examples:
        >>> from PIL import Image
        >>> Image.new("RGB", (40, 30)).save("small.png")
        >>> check_image_file("small.png")
        (40, 30)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No image file at {path!r}.")
    return _decode(path, path, None, header_only=True)


def _decode(source, name, min_size, header_only=False):
    """Decode ``source`` (a path or a binary file object) whole, under the pixel limit; errors name ``name``.
    With ``header_only``, decode nothing: check the header and return (width, height)."""
    limit = max_image_pixels()
    try:
        with Image.open(source) as image:
            if image.width * image.height > limit:  # the header's size: nothing is decoded yet
                raise _too_large(name, image.width * image.height, image.size)
            if header_only:
                return image.size
            if min_size is not None and image.format == "JPEG":
                height, width = min_size
                if orientation(image) in _TURNED:  # the stored picture is the shown one turned by 90°
                    height, width = width, height
                image.draft("RGB", (width, height))
            image.load()
            return pil_to_array(image)
    except Image.DecompressionBombError as error:  # PIL's own guard, in Image.open, before the size can be read
        found = _PIL_BOMB_PIXELS.search(str(error))
        if found is None:
            raise BadImageError(f"{name!r} is not a readable image: {_reason(error)}") from error
        raise _too_large(name, int(found.group(1))) from None
    except ImageTooLargeError:
        raise
    except _DECODE_ERRORS as error:
        raise BadImageError(f"{name!r} is not a readable image: {_reason(error)}") from error


def _check_min_size(min_size):
    if min_size is None:
        return None
    try:
        height, width = (int(v) for v in min_size)
        valid = height >= 1 and width >= 1 and (height, width) == tuple(min_size)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"min_size must be (height, width) in whole pixels, both at least 1; got {min_size!r}.")
    return height, width


def _reason(error):
    if isinstance(error, UnidentifiedImageError):
        return "not an image format PIL knows (JPEG, PNG, GIF, WebP, TIFF, BMP, …)"
    return str(error) or type(error).__name__


def _array_to_rgb(array, which="The image array"):
    """One array of rank 2 or 3 to (H, W, 3) uint8; values are taken as 0..255 (finite ones clipped)."""
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"Image arrays must hold real numbers in 0..255, got dtype {array.dtype}. "
                         f"Accepted: {ACCEPTED}.")
    if np.issubdtype(array.dtype, np.inexact):
        finite = np.isfinite(array)
        if not finite.all():
            nan = int(np.isnan(array).sum())
            bad = array.size - int(finite.sum())
            raise ValueError(f"{which} (shape {array.shape}) holds {bad:,} of {array.size:,} values that are not "
                             f"finite ({nan:,} NaN, {bad - nan:,} infinite): pixels must be finite numbers in 0..255.")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise ValueError(f"An image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
                         f"got {array.shape}. Accepted: {ACCEPTED}.")
    if array.dtype != np.uint8:
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def _pil_image_to_array(image):
    try:
        return pil_to_array(image)
    except _DECODE_ERRORS as error:
        name = getattr(image, "filename", "") or f"A PIL {image.mode} image of size {image.size}"
        raise BadImageError(f"{name!r} is not a readable image: {_reason(error)}") from error


def as_image_list(images, min_size=None):
    """Normalise any accepted input to a list of (H, W, 3) uint8 arrays (sizes may differ).

    File paths are read with ``load_image(path, min_size)``; PIL images get the same EXIF
    orientation and mode conversion (they are already open, so ``min_size`` does not apply to
    them, nor to arrays).

    Args:
        images: a file path, a PIL image, an array of shape (H, W), (H, W, 1|3|4) or
            (N, H, W, 1|3|4) with values in 0..255, or a list of these (single images, not
            batches). An alpha channel of an array is dropped; finite values outside 0..255 are
            clipped.
        min_size: (height, width) the images will be resized to, or None; passed to
            ``load_image`` for file paths.

    Returns:
        A list of uint8 arrays (H, W, 3), one per image, in order.

    Raises:
        ValueError: an empty batch or list, a nested list, an array of another rank, shape or
            type, an array with NaN or infinite values, or an object that is not an image.
        FileNotFoundError: a path with no file (from ``load_image``).
        BadImageError: a file or PIL image that cannot be decoded (from ``load_image``).

    Examples:
        >>> import numpy as np
        >>> [a.shape for a in as_image_list(np.zeros((2, 5, 7, 3), np.uint8))]
        [(5, 7, 3), (5, 7, 3)]
        >>> [a.shape for a in as_image_list([np.zeros((4, 6), np.uint8), np.zeros((5, 7, 4), np.uint8)])]
        [(4, 6, 3), (5, 7, 3)]
    """
    if isinstance(images, (str, os.PathLike)):
        return [load_image(images, min_size=min_size)]
    if isinstance(images, Image.Image):
        return [_pil_image_to_array(images)]
    if isinstance(images, np.ndarray) or hasattr(images, "numpy") and not isinstance(images, (list, tuple)):
        array = np.asarray(images)
        if array.ndim == 4:
            if len(array) == 0:
                raise ValueError("Got an empty batch of images (shape %s)." % (array.shape,))
            return [_array_to_rgb(a, f"Image {i} of the batch") for i, a in enumerate(array)]
        if array.ndim in (2, 3):
            return [_array_to_rgb(array)]
        raise ValueError(f"Image arrays must have rank 2, 3 or 4, got shape {array.shape}. Accepted: {ACCEPTED}.")
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(f"Got an empty list of images. Accepted: {ACCEPTED}.")
        out = []
        for item in images:
            if isinstance(item, (list, tuple)):
                raise ValueError(f"Nested lists are not images. Accepted: {ACCEPTED}.")
            if isinstance(item, np.ndarray) and item.ndim == 4:
                raise ValueError("A list of images must hold single images, not batches of shape "
                                 f"{item.shape}. Accepted: {ACCEPTED}.")
            out.extend(as_image_list(item, min_size=min_size))
        return out
    raise ValueError(f"Cannot read an image from {type(images).__name__}. Accepted: {ACCEPTED}.")
