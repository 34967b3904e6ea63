"""See where the model looked: per-word attention maps at the image's size, and figures of them.

Computing (arrays) is apart from drawing (matplotlib, imported only when drawing).
"""
import os

import numpy as np
from PIL import Image

from showattend.data.images import as_image_list

UPSCALE_METHODS = ("bilinear", "gaussian")


def _gaussian_kernel(sigma):
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_smooth(array, sigma):
    """Separable Gaussian filter with reflected borders (mass stays where it was)."""
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    out = np.asarray(array, dtype=np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        out = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), axis, padded)
    return out


def upsample_attention(attention_map, size, upscale="bilinear", sigma=None):
    """One (grid_h, grid_w) attention map → (height, width) float32 map that sums to 1.

    ``"bilinear"`` is what attention correctness uses; ``"gaussian"`` (the paper's figures) smooths
    the bilinear map with a Gaussian of ``sigma`` pixels (default: half a grid cell).

    >>> upsample_attention(np.eye(2) / 2, (4, 4)).sum().round(6)
    1.0
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
        cell = max(height / attention_map.shape[0], width / attention_map.shape[1])
        up = gaussian_smooth(up, cell / 2 if sigma is None else float(sigma))
    up = np.maximum(up, 0.0)
    total = up.sum()
    return (up / total if total > 0 else np.full_like(up, 1.0 / up.size)).astype(np.float32)


def attention_overlays(image, caption, upscale="gaussian", sigma=None):
    """One map per word of ``caption``, at ``image``'s own size, each summing to 1."""
    if caption.attention is None:
        raise ValueError("This caption has no attention maps: call caption(..., return_attention=True).")
    (array,) = as_image_list(image)
    return [upsample_attention(a, array.shape[:2], upscale, sigma) for a in caption.attention]


def plot_attention(image, caption, cols=5, show_beta=True, cmap="inferno", alpha=0.6, upscale="gaussian",
                   sigma=None):
    """A matplotlib Figure: the image, then one panel per word with its attention over the image.

    >>> fig = plot_attention(image, caption)  # doctest: +SKIP
    """
    from matplotlib.figure import Figure  # a bare Figure needs no display and no pyplot state

    (array,) = as_image_list(image)
    maps = attention_overlays(array, caption, upscale, sigma)
    panels = len(maps) + 1
    cols = max(1, min(int(cols), panels))
    rows = -(-panels // cols)
    figure = Figure(figsize=(2.2 * cols, 2.5 * rows + 0.4), dpi=100)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:  # frameless panels that keep their x-label (β goes there)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
    for ax in axes[panels:]:
        ax.set_visible(False)
    axes[0].imshow(array)
    axes[0].set_title("image", fontsize=10)
    for i, (word, heat) in enumerate(zip(caption.tokens, maps), start=1):
        axes[i].imshow(array)
        axes[i].imshow(heat / heat.max(), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        axes[i].set_title(word, fontsize=11)
        if show_beta and caption.beta is not None:
            axes[i].set_xlabel(f"β = {caption.beta[i - 1]:.2f}", fontsize=9)
    figure.suptitle(caption.text, fontsize=10)
    figure.tight_layout()
    return figure


def save_attention(path, image, caption, **options):
    """Write ``plot_attention(image, caption, **options)`` to ``path`` as PNG (atomically)."""
    path = os.fspath(path)
    figure = plot_attention(image, caption, **options)
    partial = path + ".partial.png"
    figure.savefig(partial, format="png")
    os.replace(partial, path)
    return path
