"""Captions and their attention as one self-contained HTML view: each image with its caption, one map
per word (the figures' overlays), β where the decoder has it, and the other beams with their scores.

Hover a word, or focus a caption and use the arrow keys, and the image shows that word's map. The
images and maps are inlined as data URIs and the page holds its own style and script, so the file
works offline and can be shared alone. ``html_report`` writes it for saved models or captioners;
``CaptionView`` shows the same in Jupyter.
"""
import base64
import html
import io
import json
import os

import numpy as np
from PIL import Image

from showattend.attention_maps import UPSCALE_METHODS
from showattend.data.images import as_image_list

__all__ = ["CaptionView", "caption_html", "html_report", "view_html", "view_rows"]

SIDE = 320  # the longer side of an image in the view, in pixels

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} .row{display:flex;gap:2em;margin:1.5em 0;flex-wrap:wrap}
figure{margin:0} figure img{display:block;border-radius:4px}
figcaption{margin-top:.4em;max-width:var(--side)} .model{font-size:.8em;color:#666}
.caption{outline:none} .caption:focus{box-shadow:0 0 0 2px #88f}
.word{display:inline-block;text-align:center;padding:0 .15em;cursor:pointer;border-radius:3px}
.word.active{background:#ffd54f} .word small{display:block;font-size:.65em;color:#777}
.beams{font-size:.85em;color:#444;margin:.4em 0 0;padding-left:1.4em} .beams .score{color:#888}
"""

# showattendViews(root) makes every new view under root interactive (the app calls it on each answer)
SCRIPT = """
function showattendViews(root) {
 root.querySelectorAll('figure.view:not([data-ready])').forEach(function (figure) {
  figure.dataset.ready = '1';
  var frames = JSON.parse(figure.dataset.frames), image = figure.querySelector('img');
  var words = figure.querySelectorAll('.word'), caption = figure.querySelector('.caption'), current = -1;
  function show(i) {
    current = i;
    image.src = i < 0 ? figure.dataset.plain : frames[i];
    words.forEach(function (w, j) { w.classList.toggle('active', j === i); });
    figure.dataset.shown = i;
  }
  words.forEach(function (w, i) {
    w.addEventListener('mouseenter', function () { show(i); });
    w.addEventListener('click', function () { caption.focus(); show(i); });
  });
  caption.addEventListener('mouseleave', function () { if (document.activeElement !== caption) show(-1); });
  caption.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowRight') { show(Math.min(current + 1, words.length - 1)); event.preventDefault(); }
    if (event.key === 'ArrowLeft') { show(Math.max(current - 1, 0)); event.preventDefault(); }
    if (event.key === 'Escape') { show(-1); }
  });
 });
}
"""


def _data_uri(array, fmt="JPEG"):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, quality=90)
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _shown(image):
    """The image as shown: RGB uint8, its longer side ``SIDE`` pixels."""
    (array,) = as_image_list(image)  # (H, W, 3) uint8
    scale = SIDE / max(array.shape[:2])
    size = (max(1, round(array.shape[1] * scale)), max(1, round(array.shape[0] * scale)))
    return np.asarray(Image.fromarray(array).resize(size, Image.BILINEAR))


def _frames(array, caption, upscale, alpha=0.6):
    """One JPEG per word: the image with the word's map over it, as the figures draw it (inferno)."""
    from matplotlib import colormaps

    from showattend.visualize import attention_overlays

    colours = colormaps["inferno"]
    frames = []
    for heat in attention_overlays(array, caption, upscale):
        coloured = colours(heat / heat.max())[..., :3] * 255
        frames.append(_data_uri(np.round((1 - alpha) * array + alpha * coloured).astype(np.uint8)))
    return frames


def _words(caption):
    """The caption's words as spans, each with its β where the decoder has one."""
    words = []
    for i, word in enumerate(caption.tokens):
        beta = f"<small>β {caption.beta[i]:.2f}</small>" if caption.beta is not None else ""
        words.append(f'<span class="word" data-index="{i}">{html.escape(word)}{beta}</span>')
    return " ".join(words)


def _beams(caption):
    """The other beams (after the caption itself) as list items, with their scores."""
    return "".join(f'<li>{html.escape(beam.text) or "(empty)"} <span class="score">{beam.score:.2f}</span></li>'
                   for beam in (caption.beams or [])[1:])


def caption_html(caption):
    """One caption without its image: its words (with β) and the other beams; ``Caption._repr_html_``.

    Args:
        caption: a ``Caption``.

    Returns:
        An HTML fragment (a string).

    Examples:
        >>> from showattend import Caption
        >>> caption_html(Caption("a red circle", ["a", "red", "circle"], -1.5)).count('class="word"')
        3
    """
    beams = _beams(caption)
    return (f'<div><style>{STYLE}</style><span class="caption">{_words(caption)}</span> '
            f'<span class="score">(log p {caption.score:.2f})</span>'
            + (f'<ol class="beams" start="2">{beams}</ol>' if beams else "") + "</div>")


def _figure(array, caption, label, upscale):
    """One image's view for one model's caption."""
    words, beams = _words(caption), _beams(caption)
    plain = _data_uri(array)
    frames = _frames(array, caption, upscale) if caption.attention is not None else []
    model = f'<div class="model">{html.escape(label)}</div>' if label else ""
    return (f'<figure class="view" style="--side:{array.shape[1]}px" data-plain="{plain}" '
            f"data-frames='{html.escape(json.dumps(frames), quote=True)}' data-shown=\"-1\">"
            f'<img src="{plain}" width="{array.shape[1]}" height="{array.shape[0]}" alt="">'
            f'<figcaption>{model}<div class="caption" tabindex="0">{words}</div>'
            f'<div class="score">log p {caption.score:.2f}</div>'
            + (f'<ol class="beams" start="2">{beams}</ol>' if beams else "") + "</figcaption></figure>")


def view_html(images, captions, labels=None, upscale="gaussian", title=None):
    """The HTML of the view: a page of images, each with one caption per model side by side.

    Args:
        images: the images (paths, PIL images or arrays), one per row.
        captions: one list of ``Caption`` per model, each with one caption per image (with
            attention maps, ``return_attention=True``, to show them; ``return_beams=True`` to list
            the other beams).
        labels: one name per model, shown above its captions; None for none.
        upscale: ``"gaussian"`` (the paper's figures) or ``"bilinear"``.
        title: the page's heading; None for none.

    Returns:
        A complete HTML document (a string) with everything inlined.

    Raises:
        ValueError: when the counts of images, captions and labels disagree, or ``upscale`` is unknown.

    Examples:
        >>> from showattend import Caption
        >>> maps = np.zeros((2, 2, 2), "float32"); maps[0, 0, 0] = maps[1, 1, 1] = 1
        >>> page = view_html([np.zeros((32, 32, 3), "uint8")], [[Caption("red circle", ["red", "circle"], -1.0,
        ...                                                                 maps)]])
        >>> page.count('class="word"'), "http" in page
        (2, False)
    """
    if upscale not in UPSCALE_METHODS:
        raise ValueError(f"Unknown upscale {upscale!r}. Accepted: {', '.join(UPSCALE_METHODS)}.")
    if not captions or any(len(per_model) != len(images) for per_model in captions):
        raise ValueError(f"Give one list of captions per model, each with one caption per image ({len(images)}); "
                         f"got {[len(c) for c in captions]}.")
    labels = list(labels) if labels is not None else [""] * len(captions)
    if len(labels) != len(captions):
        raise ValueError(f"{len(labels)} labels for {len(captions)} models.")
    heading = f"<h1>{html.escape(title)}</h1>" if title else ""
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title or 'showattend')}</title><style>{STYLE}</style></head><body>{heading}"
            "<p>Hover a word, or click a caption and use ← →, to see where the model looked.</p>"
            + view_rows(images, captions, labels, upscale) + f"<script>{SCRIPT}showattendViews(document);</script>"
            "</body></html>")


def view_rows(images, captions, labels, upscale="gaussian"):
    """The view's rows without the page around them: one row per image, a figure per model.

    ``view_html`` puts them in a page; ``showattend serve`` sends them to its page, whose script
    (``SCRIPT``'s ``showattendViews``) makes them interactive.

    Args:
        images: the images (paths, PIL images or arrays), one per row.
        captions: one list of ``Caption`` per model, each with one caption per image.
        labels: one name per model (an empty string for none).
        upscale: ``"gaussian"`` or ``"bilinear"``.

    Returns:
        An HTML fragment (a string).

    Examples:
        >>> from showattend import Caption
        >>> view_rows([np.zeros((8, 8, 3), "uint8")], [[Caption("a", ["a"], -0.5, np.ones((1, 1, 1)))]],
        ...           [""]).count('class="row"')
        1
    """
    rows = []
    for i, image in enumerate(images):
        array = _shown(image)
        rows.append('<div class="row">' + "".join(_figure(array, per_model[i], label, upscale)
                                                  for per_model, label in zip(captions, labels)) + "</div>")
    return "".join(rows)


class CaptionView:
    """Images and their captions as the interactive view, in Jupyter (``_repr_html_``) or as HTML.

    Args:
        images: the images, one per caption.
        captions: a list of ``Caption`` (one model), or one such list per model.
        labels: one name per model; None for none.
        upscale: ``"gaussian"`` or ``"bilinear"``.

    Examples:
        >>> from showattend import Caption
        >>> view = CaptionView([np.zeros((8, 8, 3), "uint8")], [Caption("a", ["a"], -0.5, np.ones((1, 1, 1)))])
        >>> view._repr_html_().count('class="view"')
        1
    """

    def __init__(self, images, captions, labels=None, upscale="gaussian"):
        from showattend.generation.captions import Caption

        self.images = list(as_image_list(images)) if not isinstance(images, (list, tuple)) else list(images)
        self.captions = [list(captions)] if captions and isinstance(captions[0], Caption) else \
            [list(c) for c in captions]
        self.labels, self.upscale = labels, upscale

    def _repr_html_(self):
        return view_html(self.images, self.captions, self.labels, self.upscale)


def html_report(path, images, models, beam_size=3, labels=None, upscale="gaussian", title=None):
    """Caption ``images`` with each of ``models`` and write the interactive view to one HTML file.

    The file holds everything (images, maps, style, script): it opens offline, from ``file://``.
    With two models or more, their captions of each image stand side by side.

    Args:
        path: the ``.html`` file to write (atomically).
        images: image files, PIL images or arrays.
        models: a ``Captioner`` or a saved model's path, or a list of them.
        beam_size: the search's beam width; the other beams are listed with their scores.
        labels: a name per model; None: the file names, or "model 1", "model 2", …
        upscale: ``"gaussian"`` (the paper's figures) or ``"bilinear"``.
        title: the page's heading; None: "showattend report".

    Returns:
        ``path``.

    Raises:
        ValueError: a bad image or option (naming it), or counts that disagree.
        FileNotFoundError: a model or image file that does not exist.

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", 2, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), image_size=(32, 32), units=8,
        ...                   max_length=5)
        >>> html_report("report.html", list(data.images), model, beam_size=2)
        'report.html'
        >>> open("report.html").read().count('class="view"')
        2
    """
    from showattend.files import atomic_write
    from showattend.saving import load_captioner

    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if labels is None:
        labels = [os.path.basename(m) if isinstance(m, (str, os.PathLike)) else
                  (f"model {i + 1}" if len(models) > 1 else "") for i, m in enumerate(models)]
    models = [load_captioner(m) if isinstance(m, (str, os.PathLike)) else m for m in models]
    images = list(images) if isinstance(images, (list, tuple)) else list(as_image_list(images))
    captions = [model.caption(images, beam_size=beam_size, return_attention=True, return_beams=True)
                for model in models]
    page = view_html(images, captions, labels, upscale, title or "showattend report")

    def write(partial):
        with open(partial, "w", encoding="utf-8") as f:
            f.write(page)

    atomic_write(path, write)
    return path
