"""PIL images of any mode to RGB uint8 arrays: EXIF orientation, transparency over white, 16-bit and
32-bit greys scaled (see ``showattend.data.images``)."""
import numpy as np
from PIL import ExifTags, ImageOps

__all__ = ["orientation", "pil_to_array"]

def orientation(image):
    """The image's EXIF orientation tag.

    Args:
        image: a PIL image.

    Returns:
        1 (shown as stored) to 8; 1 when the image has none.

    Examples:
        >>> from PIL import Image
        >>> orientation(Image.new("RGB", (4, 2)))
        1
    """
    return image.getexif().get(ExifTags.Base.Orientation, 1)


def pil_to_array(image):
    """Any PIL image → (H, W, 3) uint8: EXIF orientation, then the mode's own route to RGB.

    Args:
        image: a PIL image of any mode.

    Returns:
        A uint8 array (H, W, 3), the picture as a viewer shows it.

    Examples:
        >>> from PIL import Image
        >>> pil_to_array(Image.new("LA", (3, 2), (0, 0))).tolist()[0][0]  # transparent: white
        [255, 255, 255]
    """
    if orientation(image) != 1:
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode.startswith("I;16"):
        grey = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
    elif mode in ("I", "F"):
        grey = _scale_to_uint8(np.asarray(image))
    elif image.has_transparency_data:
        return _over_white(np.asarray(image.convert("RGBA")))
    elif mode == "RGB":
        return np.array(image, dtype=np.uint8)
    else:  # L, 1, P, CMYK, YCbCr, LAB, HSV: PIL's own conversions
        return np.array(image.convert("RGB"), dtype=np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _over_white(rgba):
    """Composite (H, W, 4) uint8 over white, exactly in integers: out = (c·a + 255·(255 − a)) / 255."""
    colour = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:].astype(np.uint32)
    return ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _scale_to_uint8(values):
    """A 32-bit integer (``I``) or float (``F``) grey image to uint8, by what its range says it holds.

    Floats within 0..1 are fractions (× 255). Values within 0..255 are kept (rounded). Integers
    within 0..65535 are 16-bit data (``>> 8``, as ``I;16``). Anything else (negative values, larger
    ranges) is stretched from its minimum to its maximum. NaN and infinities read as 0.
    """
    is_float = np.issubdtype(values.dtype, np.floating)
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if is_float and low >= 0 and high <= 1:
        scaled = values * 255
    elif low >= 0 and high <= 255:
        scaled = values
    elif not is_float and low >= 0 and high <= 65535:
        scaled = np.floor(values / 256)
    else:
        scaled = (values - low) * (255 / (high - low))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)
