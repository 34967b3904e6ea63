"""Attention maps at an image's size: a (grid_h, grid_w) map upsampled, bilinear or smoothed as in
the paper's figures. Arrays only, no drawing: ``showattend.visualize`` draws them, and attention
correctness (``showattend.grounding``) measures with them."""
import functools

import numpy as np
from PIL import Image

__all__ = ["UPSCALE_METHODS", "gaussian_smooth", "upsample_attention"]

UPSCALE_METHODS = ("bilinear", "gaussian")


def _gaussian_kernel(sigma):
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_smooth(array, sigma):
    """Separable Gaussian filter with reflected borders (mass stays where it was).

    Args:
        array: a 2-D array.
        sigma: the Gaussian's standard deviation in pixels: one number, or (rows, columns).

    Returns:
        The smoothed array, float64, of ``array``'s shape.

    Examples:
        >>> import numpy as np
        >>> smooth = gaussian_smooth(np.pad(np.ones((1, 1)), 3), sigma=1.0)  # one bright pixel in a 7×7 array
        >>> smooth.shape, round(float(smooth[3, 3]), 3), round(float(smooth[3, 4]), 3)
        ((7, 7), 0.159, 0.097)
    """
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (2,))
    out = np.asarray(array, dtype=np.float64)
    rows, cols = out.shape
    return _smoothing_matrix(rows, float(sigmas[0])) @ out @ _smoothing_matrix(cols, float(sigmas[1])).T


@functools.lru_cache(maxsize=64)
def _smoothing_matrix(length, sigma):
    """The filter along one axis of ``length`` as a (length, length) matrix: padding the axis
    (reflected, or repeated where it is shorter than the kernel's radius) then convolving, both
    linear. Two matrix products smooth an image in a millisecond (a convolution per row: 12 ms)."""
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    padded = np.pad(np.eye(length), [(radius, radius), (0, 0)], mode="reflect" if length > radius else "edge")
    return sum(weight * padded[j:j + length] for j, weight in enumerate(kernel[::-1]))


def upsample_attention(attention_map, size, upscale="bilinear", sigma=None):
    """One (grid_h, grid_w) attention map → (height, width) float32 map that sums to 1.

    Args:
        attention_map: one word's attention, (grid_h, grid_w).
        size: the (height, width) to upsample to.
        upscale: ``"bilinear"``, what attention correctness uses, or ``"gaussian"`` (the paper's
            figures), which smooths the bilinear map with a Gaussian of ``sigma`` pixels.
        sigma: for ``"gaussian"``: pixels, one number or (rows, columns); default: half a grid
            cell along each axis.

    Returns:
        A float32 array (height, width) that sums to 1.

    Raises:
        ValueError: an unknown ``upscale``, a map that is not 2-D, or a ``sigma`` that is not
            positive.

    Examples:
        >>> import numpy as np
        >>> up = upsample_attention(np.eye(2) / 2, (4, 6))
        >>> up.shape, up.dtype, round(float(up.sum()), 5)
        ((4, 6), dtype('float32'), 1.0)
    """
    if upscale not in UPSCALE_METHODS:
        raise ValueError(f"Unknown upscale {upscale!r}. Accepted: {', '.join(UPSCALE_METHODS)}.")
    attention_map = np.asarray(attention_map, dtype=np.float32)
    if attention_map.ndim != 2:
        raise ValueError(f"An attention map must be 2-D (grid_h, grid_w), got shape {attention_map.shape}.")
    height, width = int(size[0]), int(size[1])
    up = np.asarray(Image.fromarray(attention_map, mode="F").resize((width, height), Image.BILINEAR),
                    dtype=np.float64)
    if upscale == "gaussian":
        if sigma is None:  # half a grid cell along each axis, so a non-square image's cells blur alike
            sigma = (height / attention_map.shape[0] / 2, width / attention_map.shape[1] / 2)
        elif not np.all(np.asarray(sigma, dtype=np.float64) > 0):
            raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}.")
        up = gaussian_smooth(up, sigma)
    up = np.maximum(up, 0.0)
    total = up.sum()
    return (up / total if total > 0 else np.full_like(up, 1.0 / up.size)).astype(np.float32)
