"""`showattend serve` without a browser: the app's answers to good and bad uploads, batching across
callers, and the command as a process that starts, answers and stops."""
import io
import json
import re
import signal
import struct
import subprocess
import sys
import threading
import urllib.request
import zlib

import numpy as np
import pytest
from PIL import Image

from showattend.serving import CaptionBatcher, labels_of, make_app
from tests.showattend.fixtures import viewer_load_module
from tests.showattend.processes import ENV, GRACE


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def app(captioner):
    app = make_app([captioner, captioner], ["first", "second"], max_upload_mb=1)
    yield app
    for batcher in app.batchers:
        batcher.close()


@pytest.fixture(scope="module")
def image(small_data):
    return small_data.images[0]


def png_header(width, height):
    """A PNG that declares width × height pixels and holds none: what a decompression bomb shows first."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def post(app, files, **form):
    data = {"images": [(io.BytesIO(content), name) for name, content in files], **form}
    response = app.test_client().post("/caption", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_json()


def test_the_page_offers_the_models_and_loads_nothing_from_elsewhere(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert re.findall(r"<option value=\"(\w+)\">", page) == ["all", "0", "1"] and ">second</option>" in page
    assert not re.search(r"https?://|<link|@import|url\(|src=\"", page)
    assert app.test_client().get("/health").get_json()["models"] == ["first", "second"]


def test_an_upload_gets_the_views_rows_with_a_map_per_word_and_the_beams(app, captioner, image):
    status, answer = post(app, [("photo.png", png(image))], beam="3", model="all")
    assert status == 200 and answer["errors"] == [] and answer["files"] == ["photo.png"]
    (caption,) = captioner.caption([image], beam_size=3, return_attention=True, return_beams=True)
    figures = re.findall(r'<figure class="view".*?</figure>', answer["html"], re.S)
    assert len(figures) == 2 and ">first<" in figures[0] and ">second<" in figures[1]  # side by side
    frames = json.loads(re.search(r"data-frames='(.*?)'", figures[0]).group(1).replace("&quot;", '"'))
    assert len(frames) == len(caption.tokens) == figures[0].count('class="word"')
    assert figures[0].count("<li>") == len(caption.beams) - 1
    status, answer = post(app, [("photo.png", png(image))], beam="1", model="1")
    assert status == 200 and answer["html"].count('class="view"') == 1 and ">second<" in answer["html"]


@pytest.mark.parametrize("name, content, message", [
    ("notes.txt", b"just some text", "'notes.txt' is not a readable image: not an image format PIL knows"),
    ("cut.png", None, "'cut.png' is not a readable image"),
    ("huge.png", "huge", "'huge.png' is 400,000,000 pixels, more than the limit of 89,478,485"),
])
def test_a_bad_file_is_named_and_the_app_goes_on(app, image, name, content, message):
    if content is None:
        content = png(image)[:300]
    elif content == "huge":
        content = png_header(20000, 20000)
    status, answer = post(app, [(name, content)], beam="2", model="0")
    assert status == 400 and message in answer["error"]
    status, answer = post(app, [(name, content), ("good.png", png(image))], beam="2", model="0")
    assert status == 200 and answer["files"] == ["good.png"] and message in answer["errors"][0]


def test_bad_options_and_an_upload_over_the_limit_are_refused_by_name(app, image):
    assert post(app, [("a.png", png(image))], beam="0", model="0") == \
        (400, {"error": f"The beam size must be a whole number from 1 to {len(app.batchers[0].model.vocabulary) - 2}, "
                        "got '0'."})
    assert post(app, [("a.png", png(image))], beam="2", model="7")[1]["error"] == \
        "Unknown model '7': give 'all' or one of 0..1."
    assert post(app, [], beam="2", model="0") == (400, {"error": "Choose one or more image files."})
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)  # 1.5 MB as PNG
    status, answer = post(app, [("big.png", png(noise))], beam="2", model="0")
    assert status == 413 and re.fullmatch(r"The upload is 1\.\d MB, over the limit of 1 MB \(showattend serve "
                                          r"--max-upload-mb\)\.", answer["error"])
    assert post(app, [("a.png", png(image))], beam="2", model="0")[0] == 200


def test_requests_from_several_threads_are_captioned_together(captioner, small_data):
    batcher = CaptionBatcher(captioner, max_batch=8, wait=0.5)
    alone = captioner.caption(list(small_data.images[:6]), beam_size=2)
    answers = {}

    def ask(i):
        answers[i] = batcher.caption([small_data.images[i]], beam_size=2)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert [answers[i][0].tokens for i in range(6)] == [c.tokens for c in alone]
    assert batcher.images == 6 and batcher.batches < 6  # gathered, not one call per request
    with pytest.raises(ValueError, match="closed"):
        batcher.caption([small_data.images[0]])


def test_labels_name_the_files_and_their_folders_where_names_repeat():
    assert labels_of(["a/model.keras", "b/model.keras"]) == ["a/model.keras", "b/model.keras"]
    assert labels_of(["a/x/m.keras", "b/x/m.keras", "m2.keras"]) == ["a/x/m.keras", "b/x/m.keras", "m2.keras"]
    assert labels_of(["x.keras", "y.keras"]) == ["x.keras", "y.keras"]


def test_the_command_serves_until_ctrl_c_and_refuses_a_bad_model_file(captioner, image, tmp_path):
    model = tmp_path / "model.keras"
    captioner.save(model)
    server = subprocess.Popen([sys.executable, "-m", "showattend.cli", "serve", str(model), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = server.stdout.readline()  # "Serving model.keras at http://127.0.0.1:PORT/ (Ctrl-C to stop)"
        assert re.search(r"at http://127\.0\.0\.1:\d+/", line), line + server.stderr.read()[-2000:]
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line).group(1)
        body, boundary = viewer_load_module().multipart({"beam": "2", "model": "0"}, [("photo.png", png(image))])
        request = urllib.request.Request(url + "caption", data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = json.loads(urllib.request.urlopen(request, timeout=120).read())
        assert answer["html"].count('class="view"') == 1
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=GRACE)
    assert server.returncode == 0 and "Stopped serving." in out and "Traceback" not in err
    bad = subprocess.run([sys.executable, "-m", "showattend.cli", "serve", str(tmp_path / "photo.png")],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert bad.returncode == 2 and "takes saved models (.keras); " in bad.stderr

