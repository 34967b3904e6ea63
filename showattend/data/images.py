"""Turn what a user calls an image (a path, a PIL image, an array) into RGB uint8 arrays."""
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

ACCEPTED = ("a file path, a PIL image, a uint8 array of shape (H, W), (H, W, 1|3|4) or (N, H, W, 1|3|4), "
            "or a list of these")


def load_image(path):
    """Read an image file as an RGB uint8 array of shape (H, W, 3).

    >>> load_image("cat.jpg").shape  # doctest: +SKIP
    (480, 640, 3)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No image file at {path!r}")
    try:
        with Image.open(path) as image:
            return _pil_to_array(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path!r} is not a readable image file ({error})") from None


def _pil_to_array(image):
    if image.mode != "RGB":
        image = image.convert("RGBA").convert("RGB") if "A" in image.getbands() else image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def _array_to_rgb(array):
    """One array of rank 2 or 3 to (H, W, 3) uint8; values are taken as 0..255."""
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"Image arrays must hold numbers in 0..255, got dtype {array.dtype}. Accepted: {ACCEPTED}.")
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


def as_image_list(images):
    """Normalise any accepted input to a list of (H, W, 3) uint8 arrays (sizes may differ)."""
    if isinstance(images, (str, os.PathLike)):
        return [load_image(images)]
    if isinstance(images, Image.Image):
        return [_pil_to_array(images)]
    if isinstance(images, np.ndarray) or hasattr(images, "numpy") and not isinstance(images, (list, tuple)):
        array = np.asarray(images)
        if array.ndim == 4:
            if len(array) == 0:
                raise ValueError("Got an empty batch of images (shape %s)." % (array.shape,))
            return [_array_to_rgb(a) for a in array]
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
            out.extend(as_image_list(item))
        return out
    raise ValueError(f"Cannot read an image from {type(images).__name__}. Accepted: {ACCEPTED}.")


def resize_images(images, size):
    """Resize a list of (H, W, 3) uint8 arrays to one float32 batch (N, height, width, 3) in 0..255.

    The same resize (bilinear, antialiased) as the training pipeline, so that captioning sees what
    training saw.
    """
    import tensorflow as tf

    height, width = size
    batch = []
    for image in images:
        if image.shape[:2] == (height, width):
            batch.append(image.astype(np.float32))
        else:
            batch.append(resize_tensor(tf.constant(image), size).numpy())
    return np.stack(batch)


def resize_tensor(image, size):
    """Resize one (H, W, 3) image tensor to float32 (height, width, 3), bilinear with antialiasing."""
    import tensorflow as tf

    image = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)
