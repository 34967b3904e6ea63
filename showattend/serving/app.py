"""The attention viewer as a local web app (Flask): upload images, read the captions and beams, and
point at a word to see where the model looked. ``showattend serve`` runs it."""
import html
import os
import time

from flask import Flask, jsonify, request

from showattend.data.images import BadImageError, decode_image
from showattend.html_view import SCRIPT, STYLE, view_rows
from showattend.serving.batcher import CaptionBatcher

__all__ = ["labels_of", "make_app"]

MEGABYTE = 1_000_000

PAGE_STYLE = """
#upload{display:flex;gap:1em;align-items:center;flex-wrap:wrap;padding:1em;border:2px dashed #aaa;border-radius:6px}
#upload.over{border-color:#448;background:#eef} #error{color:#b00020;white-space:pre-line;margin:.8em 0}
#status{color:#555;margin:.8em 0}
"""

PAGE_SCRIPT = """
var form = document.getElementById('upload'), files = document.getElementById('files');
var errorBox = document.getElementById('error'), statusBox = document.getElementById('status');
var results = document.getElementById('results'), limit = Number(form.dataset.limit);
function state(name, text) { document.body.dataset.state = name; statusBox.textContent = text || ''; }
function fail(message) { errorBox.textContent = message; errorBox.hidden = false; }
function send(chosen) {
  errorBox.hidden = true;
  if (!chosen.length) { fail('Choose one or more image files.'); state('error'); return; }
  var total = 0, body = new FormData();
  for (var i = 0; i < chosen.length; i++) { total += chosen[i].size; body.append('images', chosen[i], chosen[i].name); }
  if (total > limit) {
    fail('The upload is ' + (total / 1e6).toFixed(1) + ' MB, over the limit of ' + (limit / 1e6) + ' MB.');
    state('error'); return;
  }
  files.value = '';  // the next choice starts afresh
  body.append('beam', document.getElementById('beam').value);
  body.append('model', document.getElementById('model').value);
  state('busy', 'Captioning ' + chosen.length + ' image' + (chosen.length > 1 ? 's' : '') + '…');
  fetch('caption', {method: 'POST', body: body}).then(function (response) {
    return response.json().catch(function () { return {error: 'The server answered ' + response.status + '.'}; });
  }).then(function (answer) {
    if (answer.html) { results.insertAdjacentHTML('afterbegin', answer.html); showattendViews(results); }
    if (answer.errors && answer.errors.length) { fail(answer.errors.join('\\n')); }
    if (answer.error) { fail(answer.error); }
    state(answer.html ? 'done' : 'error', answer.html ? 'Captioned in ' + answer.seconds.toFixed(2) + ' s.' : '');
  }).catch(function (error) { fail('No answer from the server: ' + error); state('error'); });
}
form.addEventListener('submit', function (event) { event.preventDefault(); send(files.files); });
['dragenter', 'dragover'].forEach(function (name) {
  form.addEventListener(name, function (event) { event.preventDefault(); form.classList.add('over'); });
});
form.addEventListener('dragleave', function () { form.classList.remove('over'); });
form.addEventListener('drop', function (event) {
  event.preventDefault(); form.classList.remove('over'); send(event.dataTransfer.files);
});
"""


def _page(labels, max_upload, max_beam):
    options = "".join(f'<option value="{i}">{html.escape(label)}</option>' for i, label in enumerate(labels))
    if len(labels) > 1:
        options = '<option value="all">all, side by side</option>' + options
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>showattend</title>"
            f"<style>{STYLE}{PAGE_STYLE}</style></head><body data-state=\"ready\"><h1>showattend</h1>"
            f'<form id="upload" data-limit="{max_upload}">'
            '<label>Images <input type="file" id="files" name="images" multiple accept="image/*"></label>'
            f'<label>Beam <input type="number" id="beam" name="beam" min="1" max="{max_beam}" value="3"></label>'
            f'<label>Model <select id="model" name="model">{options}</select></label>'
            '<button type="submit" id="caption">Caption</button><span>or drop images here</span></form>'
            '<div id="error" role="alert" hidden></div><div id="status" role="status"></div>'
            "<p>Hover a word, or click a caption and use ← →, to see where the model looked.</p>"
            f'<div id="results"></div><script>{SCRIPT}{PAGE_SCRIPT}</script></body></html>')


def make_app(models, labels=None, max_upload_mb=20, upscale="gaussian", max_batch=16):
    """The viewer's Flask app, serving ``models`` (loaded once; their captioning batched).

    Routes: ``GET /`` is the page; ``POST /caption`` takes the form's ``images`` (files), ``beam``
    and ``model`` (an index into ``models``, or ``all``) and answers JSON: ``html`` (the view's
    rows), ``errors`` (one message per file that could not be read) and ``seconds``, or ``error``
    with status 400 or 413. ``GET /health`` gives the models' names and the captioning calls
    (``batches``) and ``images`` so far. A bad upload never stops the app.

    Args:
        models: ``Captioner`` objects.
        labels: one name per model; None: "model 1", "model 2", …
        max_upload_mb: the largest upload (all of one request's files), in megabytes.
        upscale: how maps are drawn: ``"gaussian"`` or ``"bilinear"``.
        max_batch: the most images captioned in one call (see ``CaptionBatcher``).

    Returns:
        A ``flask.Flask`` app; ``app.batchers`` holds each model's ``CaptionBatcher``.

    Raises:
        ValueError: no models, a label count that differs, or a size limit that is not positive.

    Examples:
        >>> import io
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", 2, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), image_size=(32, 32), units=8,
        ...                   max_length=4)
        >>> client = make_app([model]).test_client()
        >>> client.post("/caption", data={"images": (io.BytesIO(b"GIF89a?"), "bad.gif")}).get_json()["error"]
        "'bad.gif' is not a readable image: ..."
    """
    models = list(models)
    if not models:
        raise ValueError("Give at least one model to serve.")
    labels = list(labels) if labels is not None else [f"model {i + 1}" for i in range(len(models))]
    if len(labels) != len(models):
        raise ValueError(f"{len(labels)} labels for {len(models)} models.")
    if not max_upload_mb > 0:
        raise ValueError(f"max_upload_mb must be positive, got {max_upload_mb!r}.")
    max_upload = int(max_upload_mb * MEGABYTE)
    max_beam = min(len(model.vocabulary) - 2 for model in models)
    min_size = max((model.image_size for model in models), key=lambda size: size[0] * size[1])
    app = Flask("showattend")
    app.config["MAX_CONTENT_LENGTH"] = max_upload + 64 * 1024  # the files plus the form's own fields
    app.batchers = [CaptionBatcher(model, max_batch=max_batch) for model in models]
    page = _page(labels, max_upload, max_beam)

    def refuse(message, status=400):
        return jsonify(error=message), status

    @app.get("/")
    def index():
        return page

    @app.get("/health")
    def health():
        return jsonify(models=labels, batches=sum(b.batches for b in app.batchers),
                       images=sum(b.images for b in app.batchers))

    @app.before_request
    def limit_size():
        length = request.content_length
        if length is not None and length > app.config["MAX_CONTENT_LENGTH"]:
            _drain(request.environ)  # read what was sent, so that the browser reads the answer
            return refuse(f"The upload is {length / MEGABYTE:.1f} MB, over the limit of {max_upload_mb:g} MB "
                          "(showattend serve --max-upload-mb).", 413)
        return None

    @app.errorhandler(413)
    def too_large(error):
        return refuse(f"The upload is over the limit of {max_upload_mb:g} MB (showattend serve --max-upload-mb).", 413)

    @app.post("/caption")
    def caption():
        started = time.perf_counter()
        uploads = request.files.getlist("images")
        if not uploads:
            return refuse("Choose one or more image files.")
        chosen = request.form.get("model", "0")
        if chosen == "all":
            which = list(range(len(models)))
        elif chosen.isdigit() and int(chosen) < len(models):
            which = [int(chosen)]
        else:
            return refuse(f"Unknown model {chosen!r}: give 'all' or one of 0..{len(models) - 1}.")
        beam = request.form.get("beam", "3")
        if not beam.isdigit() or not 1 <= int(beam) <= max_beam:
            return refuse(f"The beam size must be a whole number from 1 to {max_beam}, got {beam!r}.")
        images, names, errors = [], [], []
        for upload in uploads:
            name = os.path.basename(upload.filename or "") or "the upload"
            try:
                images.append(decode_image(upload.read(), name, min_size=min_size))
                names.append(name)
            except BadImageError as error:
                errors.append(str(error))
        if not images:
            return refuse("\n".join(errors))
        captions = [app.batchers[i].caption(images, int(beam)) for i in which]
        rows = view_rows(images, captions, [labels[i] for i in which], upscale)
        return jsonify(html=rows, errors=errors, files=names, seconds=time.perf_counter() - started)

    return app


def _drain(environ, chunk=1 << 20):
    stream = environ.get("wsgi.input")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    while stream is not None and length > 0:
        read = stream.read(min(chunk, length))
        if not read:
            break
        length -= len(read)


def labels_of(paths):
    """Model names for the page: each file's name, with as many of its folders as tell it from the others.

    Args:
        paths: the model files.

    Returns:
        A list of strings, one per path.

    Examples:
        >>> labels_of(["runs/lstm/seed0/model.keras", "runs/transformer/seed0/model.keras", "demo.keras"])
        ['lstm/seed0/model.keras', 'transformer/seed0/model.keras', 'demo.keras']
    """
    parts = [os.path.abspath(p).split(os.sep) for p in paths]
    depths = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depths)]
        repeated = [i for i, label in enumerate(labels) if labels.count(label) > 1 and depths[i] < len(parts[i])]
        if not repeated:
            return labels
        for i in repeated:
            depths[i] += 1
