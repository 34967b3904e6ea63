"""See where the model looked: per-word attention maps at the image's size, and figures of them;
and a training run's curves (``plot_curves``).

Computing (``attention_overlays``: arrays) is apart from drawing (``plot_attention``,
``plot_attention_grid``, ``attention_animation``: matplotlib, imported only when drawing).
"""

import numpy as np
from PIL import Image

from showattend.attention_maps import UPSCALE_METHODS, gaussian_smooth, upsample_attention  # noqa: F401
from showattend.data.images import as_image_list
from showattend.files import atomic_write
from showattend.html_view import CaptionView, html_report  # noqa: F401 (the browser's view lives there)

def _checked(caption):
    if caption.attention is None:
        raise ValueError("This caption has no attention maps: call caption(..., return_attention=True).")
    if len(caption.attention) != len(caption.tokens):
        raise ValueError(f"The caption has {len(caption.tokens)} words but {len(caption.attention)} attention "
                         "maps; one map per word is needed.")
    return caption


def attention_overlays(image, caption, upscale="gaussian", sigma=None):
    """One map per word of ``caption``, at ``image``'s own size (any aspect ratio), each summing to 1.

    The grid is stretched over the whole image, as the model saw it. ``upscale="gaussian"`` (the
    default, the paper's way) upsamples bilinearly and then smooths with a Gaussian of ``sigma``
    pixels (default: half a grid cell), which keeps each map's mass on its cell;
    ``"bilinear"`` skips the smoothing.

    Args:
        image: the captioned image: a file path, a PIL image or a uint8 array (H, W[, C]).
        caption: a ``Caption`` with attention (``caption(..., return_attention=True)``).
        upscale: ``"gaussian"`` or ``"bilinear"``.
        sigma: the Gaussian's standard deviation in pixels (default: half a grid cell).

    Returns:
        A list of float32 arrays (H, W), one per word.

    Raises:
        ValueError: a caption without attention maps or with one map too many or too few, or a
            bad image.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption
        >>> attention = np.zeros((3, 2, 2), "float32")  # a 2×2 grid; each word looks at one cell
        >>> attention[0, 0, 0] = attention[1, 0, 1] = attention[2, 1, 1] = 1
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.2, attention, np.array([0.5, 0.75, 0.25]))
        >>> image = np.zeros((32, 48, 3), "uint8")
        >>> maps = attention_overlays(image, caption)
        >>> len(maps), maps[0].shape, round(float(maps[0].sum()), 5)
        (3, (32, 48), 1.0)
        >>> bool(maps[0][:16, :24].sum() > 0.5)  # "a" looked at the top left cell
        True
    """
    _checked(caption)
    (array,) = as_image_list(image)
    return [upsample_attention(a, array.shape[:2], upscale, sigma) for a in caption.attention]


def _bare_axes(axes):
    for ax in axes:  # frameless panels that keep their x-label (β goes there)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)


def _draw_word(ax, array, heat, word, beta=None, region=None, grid_shape=None, cmap="inferno", alpha=0.6):
    """One panel: the image, the word's map over it, the word as title, β under it, the read region boxed."""
    from matplotlib.patches import Rectangle

    ax.imshow(array)
    ax.imshow(heat / heat.max(), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
    ax.set_title(word, fontsize=11)
    if beta is not None:
        ax.set_xlabel(f"β = {beta:.2f}", fontsize=9)
    if region is not None:
        cell_h, cell_w = array.shape[0] / grid_shape[0], array.shape[1] / grid_shape[1]
        ax.add_patch(Rectangle((region[1] * cell_w - 0.5, region[0] * cell_h - 0.5), cell_w, cell_h,
                               fill=False, edgecolor="cyan", linewidth=2))


def _draw_caption_row(axes, array, caption, show_beta, cmap, alpha, upscale, sigma):
    maps = attention_overlays(array, caption, upscale, sigma)
    axes[0].imshow(array)
    axes[0].set_title("image", fontsize=10)
    grid_shape = caption.attention.shape[1:]
    for i, (word, heat) in enumerate(zip(caption.tokens, maps)):
        beta = caption.beta[i] if show_beta and caption.beta is not None else None
        region = caption.regions[i] if caption.regions is not None else None
        _draw_word(axes[i + 1], array, heat, word, beta, region, grid_shape, cmap, alpha)
    for ax in axes[len(maps) + 1:]:
        ax.set_visible(False)


def plot_attention(image, caption, cols=5, show_beta=True, cmap="inferno", alpha=0.6, upscale="gaussian",
                   sigma=None):
    """A matplotlib Figure: the image, then one panel per word with its attention over the image.

    Each panel has the word as title and, with ``show_beta``, the gate β of that step under it;
    for a hard-attention caption read with ``sample=True`` or ``argmax=True`` the grid cell the
    model read is boxed.

    Args:
        image: the captioned image: a file path, a PIL image or a uint8 array (H, W[, C]).
        caption: a ``Caption`` with attention (``caption(..., return_attention=True)``).
        cols: panels a row.
        show_beta: write each step's β under its panel.
        cmap: the matplotlib colour map of the attention.
        alpha: the attention's opacity over the image.
        upscale: ``"gaussian"`` or ``"bilinear"`` (see ``attention_overlays``).
        sigma: the Gaussian's standard deviation in pixels (default: half a grid cell).

    Returns:
        A ``matplotlib.figure.Figure`` (no pyplot state: save it with ``savefig``).

    Raises:
        ValueError: a ``cols`` that is not a positive integer, a caption without attention maps,
            or a bad image.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption
        >>> attention = np.zeros((3, 2, 2), "float32")  # a 2×2 grid; each word looks at one cell
        >>> attention[0, 0, 0] = attention[1, 0, 1] = attention[2, 1, 1] = 1
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.2, attention, np.array([0.5, 0.75, 0.25]))
        >>> image = np.zeros((32, 48, 3), "uint8")
        >>> figure = plot_attention(image, caption)
        >>> [axes.get_title() for axes in figure.axes], figure.axes[2].get_xlabel()
        (['image', 'a', 'red', 'circle'], 'β = 0.75')
    """
    from matplotlib.figure import Figure  # a bare Figure needs no display and no pyplot state

    _checked(caption)
    (array,) = as_image_list(image)
    if not isinstance(cols, (int, np.integer)) or cols < 1:
        raise ValueError(f"cols must be a positive integer, got {cols!r}.")
    panels = len(caption.tokens) + 1
    cols = min(int(cols), panels)
    rows = -(-panels // cols)
    figure = Figure(figsize=(2.2 * cols, 2.5 * rows + 0.4), dpi=100)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    _bare_axes(axes)
    _draw_caption_row(axes, array, caption, show_beta, cmap, alpha, upscale, sigma)
    figure.suptitle(caption.text, fontsize=10)
    figure.tight_layout()
    return figure


def plot_attention_grid(images, captions, show_beta=True, cmap="inferno", alpha=0.6, upscale="gaussian",
                        sigma=None, panel_size=1.6):
    """A matplotlib Figure for a batch: one row per image, the image and then a panel per word.

    Args:
        images: the captioned images: paths, PIL images, uint8 arrays, or an array (N, H, W, C).
        captions: one ``Caption`` with attention per image.
        show_beta: write each step's β under its panel.
        cmap: the matplotlib colour map of the attention.
        alpha: the attention's opacity over the image.
        upscale: ``"gaussian"`` or ``"bilinear"`` (see ``attention_overlays``).
        sigma: the Gaussian's standard deviation in pixels (default: half a grid cell).
        panel_size: each panel's width in inches.

    Returns:
        A ``matplotlib.figure.Figure``.

    Raises:
        ValueError: a count of captions that differs from the images', a caption without
            attention maps, or a bad image.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption
        >>> attention = np.zeros((3, 2, 2), "float32")  # a 2×2 grid; each word looks at one cell
        >>> attention[0, 0, 0] = attention[1, 0, 1] = attention[2, 1, 1] = 1
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.2, attention, np.array([0.5, 0.75, 0.25]))
        >>> image = np.zeros((32, 48, 3), "uint8")
        >>> figure = plot_attention_grid([image, image], [caption, caption])
        >>> len(figure.axes)  # 2 rows of the image and 3 words
        8
    """
    from matplotlib.figure import Figure

    arrays = as_image_list(images)
    captions = list(captions)
    if len(arrays) != len(captions):
        raise ValueError(f"{len(arrays)} images but {len(captions)} captions: one caption per image is needed.")
    for caption in captions:
        _checked(caption)
    cols = 1 + max(len(c.tokens) for c in captions)
    figure = Figure(figsize=(panel_size * cols, (panel_size + 0.35) * len(arrays)), dpi=100)
    axes = figure.subplots(len(arrays), cols, squeeze=False)
    _bare_axes(axes.ravel())
    for row, array, caption in zip(axes, arrays, captions):
        _draw_caption_row(row, array, caption, show_beta, cmap, alpha, upscale, sigma)
    figure.tight_layout()
    return figure


def save_attention(path, image, caption, **options):
    """Write ``plot_attention(image, caption, **options)`` to ``path`` as PNG (atomically).

    Args:
        path: the PNG file to write.
        image: the captioned image: a file path, a PIL image or a uint8 array (H, W[, C]).
        caption: a ``Caption`` with attention.
        **options: ``plot_attention``'s options (``cols``, ``show_beta``, ``cmap``, ...).

    Returns:
        ``path``.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption
        >>> attention = np.zeros((3, 2, 2), "float32")  # a 2×2 grid; each word looks at one cell
        >>> attention[0, 0, 0] = attention[1, 0, 1] = attention[2, 1, 1] = 1
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.2, attention, np.array([0.5, 0.75, 0.25]))
        >>> image = np.zeros((32, 48, 3), "uint8")
        >>> save_attention("attention.png", image, caption, cols=2)
        'attention.png'
    """
    figure = plot_attention(image, caption, **options)
    return atomic_write(path, lambda partial: figure.savefig(partial, format="png"))


def _figure_pixels(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def attention_animation(image, caption, path, seconds_per_word=0.8, size=4.0, show_beta=True, cmap="inferno",
                        alpha=0.6, upscale="gaussian", sigma=None):
    """Write an animated GIF (pillow) that steps word by word through ``caption``.

    The first frame is the image; frame i + 1 shows word i's attention, with the caption written
    underneath up to that word and the word in brackets. ``size`` is the frame's width in inches
    at 100 dpi (its height follows the image's aspect ratio).

    Args:
        image: the captioned image: a file path, a PIL image or a uint8 array (H, W[, C]).
        caption: a ``Caption`` with attention.
        path: the GIF file to write (atomically).
        seconds_per_word: how long each frame shows.
        size: the frame's width in inches.
        show_beta: write each step's β under the image.
        cmap: the matplotlib colour map of the attention.
        alpha: the attention's opacity over the image.
        upscale: ``"gaussian"`` or ``"bilinear"`` (see ``attention_overlays``).
        sigma: the Gaussian's standard deviation in pixels (default: half a grid cell).

    Returns:
        ``path``.

    Raises:
        ValueError: a ``seconds_per_word`` that is not positive, a caption without attention
            maps, or a bad image.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption
        >>> attention = np.zeros((3, 2, 2), "float32")  # a 2×2 grid; each word looks at one cell
        >>> attention[0, 0, 0] = attention[1, 0, 1] = attention[2, 1, 1] = 1
        >>> caption = Caption("a red circle", ["a", "red", "circle"], -1.2, attention, np.array([0.5, 0.75, 0.25]))
        >>> image = np.zeros((32, 48, 3), "uint8")
        >>> attention_animation(image, caption, "attention.gif", size=2.0)
        'attention.gif'
        >>> from PIL import Image
        >>> Image.open("attention.gif").n_frames  # the image, then one frame per word
        4
    """
    from matplotlib.figure import Figure

    _checked(caption)
    (array,) = as_image_list(image)
    if not seconds_per_word > 0:
        raise ValueError(f"seconds_per_word must be positive, got {seconds_per_word!r}.")
    maps = attention_overlays(array, caption, upscale, sigma)
    grid_shape = caption.attention.shape[1:]
    image_height = 0.92 * size * array.shape[0] / array.shape[1]  # inches; the frame follows the image's aspect
    bottom = 0.75  # room for β and the caption under the image, 0.35 in for the word above it
    height = bottom + image_height + 0.35
    frames = []
    for step in range(len(maps) + 1):
        figure = Figure(figsize=(size, height), dpi=100)
        ax = figure.add_axes([0.04, bottom / height, 0.92, image_height / height])
        _bare_axes([ax])
        if step == 0:
            ax.imshow(array)
            ax.set_title("image", fontsize=12)
            words = caption.tokens
        else:
            i = step - 1
            beta = caption.beta[i] if show_beta and caption.beta is not None else None
            region = caption.regions[i] if caption.regions is not None else None
            _draw_word(ax, array, maps[i], caption.tokens[i], beta, region, grid_shape, cmap, alpha)
            words = caption.tokens[:i] + [f"[{caption.tokens[i]}]"]
        figure.text(0.5, 0.05 / height, _wrapped(" ".join(words), 48), ha="center", va="bottom", fontsize=9)
        frames.append(_figure_pixels(figure).convert("P", palette=Image.ADAPTIVE))
    duration = int(round(1000 * seconds_per_word))

    def write(partial):
        frames[0].save(partial, format="GIF", save_all=True, append_images=frames[1:], duration=duration,
                       loop=0)

    return atomic_write(path, write)


def _wrapped(text, width):
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or " "


def plot_curves(history, path, kept=None):
    """Draw a run's ``curves.png``: the losses and the validation BLEU-4 per epoch.

    Loss and validation loss are on the left (cross-entropy too where the loss has other terms),
    validation BLEU-4 on the right, with the epoch kept marked.

    Args:
        history: The rows of ``history.csv`` (``read_history``).
        path: The PNG file to write (atomically).
        kept: ``kept_epoch(out)``, to mark that epoch; None: no mark.

    Returns:
        ``path``.

    Examples:

        >>> history = [{"epoch": 1, "loss": 3.0, "val_loss": 2.9, "val_bleu4": 0.21},
        ...            {"epoch": 2, "loss": 2.5, "val_loss": 2.6, "val_bleu4": 0.34}]
        >>> plot_curves(history, "curves.png", kept={"epoch": 2, "val_bleu4": 0.34})
        'curves.png'
        >>> from PIL import Image
        >>> Image.open("curves.png").size  # 9 × 3.4 inches at 100 dpi
        (900, 340)
    """
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    figure = Figure(figsize=(9, 3.4), dpi=100)
    loss_ax, bleu_ax = figure.subplots(1, 2)
    curves = [("loss", "training loss", "-"), ("val_loss", "validation loss", "-")]
    if any(abs(r.get("loss", 0) - r.get("cross_entropy", 0)) > 1e-6 for r in history):  # λ or REINFORCE terms
        curves += [("cross_entropy", "training cross-entropy", "--"), ("val_cross_entropy", "validation cross-entropy", "--")]
    for key, label, style in curves:
        points = [(r["epoch"], r[key]) for r in history if key in r]
        if points:
            loss_ax.plot(*zip(*points), style, marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="per caption", title="loss")
    loss_ax.legend()
    points = [(r["epoch"], r["val_bleu4"]) for r in history if "val_bleu4" in r]
    if points:
        bleu_ax.plot(*zip(*points), marker="o", color="tab:green")
        if kept:
            bleu_ax.axvline(kept["epoch"], color="grey", linestyle=":")
            bleu_ax.annotate(f"kept: epoch {kept['epoch']}", (kept["epoch"], kept["val_bleu4"]),
                             textcoords="offset points", xytext=(4, -12))
    bleu_ax.set(xlabel="epoch", ylabel="BLEU-4", title="validation BLEU-4 (free-running)")
    for ax in (loss_ax, bleu_ax):
        ax.set_xticks(epochs)
    figure.tight_layout()
    return atomic_write(path, lambda partial: figure.savefig(partial, format="png"))
