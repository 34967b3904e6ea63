"""The HTML view without a browser: one map per word, drawn as the figures draw it and peaking where the
word's attention does; the other beams with their scores; everything inlined, nothing fetched."""
import base64
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from showattend import Caption
from showattend.cli import main
from showattend.datasets import shapes
from showattend.html_view import SIDE, CaptionView, caption_html, html_report, view_html
from showattend.visualize import attention_overlays


@pytest.fixture(scope="module")
def images():
    return list(shapes("test", 2, seed=5).images)


@pytest.fixture(scope="module")
def report(captioner, images, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    html_report(str(path), images, [captioner, captioner], beam_size=3, labels=["lstm", "again"])
    captions = captioner.caption(images, beam_size=3, return_attention=True, return_beams=True)
    return path.read_text(encoding="utf-8"), captions


def figures(page):
    return re.findall(r'<figure class="view".*?</figure>', page, re.S)


def decoded(uri):
    assert uri.startswith("data:image/jpeg;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")).astype(float)


def frames_of(figure):
    return json.loads(re.search(r"data-frames='(.*?)'", figure).group(1).replace("&quot;", '"'))


def test_each_word_has_its_map_and_beta_and_the_other_beams_their_scores(report):
    page, captions = report
    found = figures(page)
    assert len(found) == 4  # 2 images × 2 models
    for figure, caption in zip(found[::2], captions):
        assert len(frames_of(figure)) == len(caption.tokens) == figure.count('class="word"')
        assert figure.count("β ") == len(caption.tokens)  # the LSTM has a gate
        listed = re.findall(r"<li>(.*?) <span class=\"score\">(-?[\d.]+)</span></li>", figure)
        assert [(text, float(score)) for text, score in listed] == \
            [(beam.text, pytest.approx(beam.score, abs=0.006)) for beam in caption.beams[1:]]
    assert ">lstm<" in found[0] and ">again<" in found[1]


def test_the_page_holds_everything_and_fetches_nothing(report):
    page, _ = report
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert not re.search(r"https?://|<link|@import|url\(", page)
    assert page.startswith("<!DOCTYPE html>") and page.count("<script>") == 1


def test_a_frame_is_the_figures_overlay(report):
    page, captions = report
    figure, caption = figures(page)[0], captions[0]
    plain = decoded(re.search(r'data-plain="([^"]*)"', figure).group(1))
    assert max(plain.shape[:2]) == SIDE
    from matplotlib import colormaps

    for heat, frame in zip(attention_overlays(plain.astype(np.uint8), caption), frames_of(figure)):
        expected = 0.4 * plain + 0.6 * colormaps["inferno"](heat / heat.max())[..., :3] * 255
        assert np.abs(decoded(frame) - expected).mean() < 4  # JPEG's error, nothing more


@pytest.mark.parametrize("upscale", ["gaussian", "bilinear"])
def test_each_frame_is_brightest_in_the_cell_its_word_looked_at(upscale):
    grid = (4, 5)
    cells = [(0, 0), (1, 3), (3, 4), (2, 1)]
    maps = np.full((len(cells), *grid), 0.01, "float32")
    for i, cell in enumerate(cells):
        maps[i][cell] = 1.0
    caption = Caption("a b c d", list("abcd"), -1.0, maps / maps.sum(axis=(1, 2), keepdims=True))
    image = np.full((96, 160, 3), 90, "uint8")  # not square: 192×320 on the page
    (figure,) = figures(view_html([image], [[caption]], upscale=upscale))
    plain = decoded(re.search(r'data-plain="([^"]*)"', figure).group(1))
    rows, cols = plain.shape[0] / grid[0], plain.shape[1] / grid[1]
    for cell, frame in zip(cells, frames_of(figure)):
        brightness = decoded(frame).sum(axis=-1)
        y, x = np.unravel_index(np.argmax(brightness), brightness.shape)
        assert (int(y // rows), int(x // cols)) == cell


def test_beams_are_the_searchs_best_first_the_caption_first(captioner, images):
    plain = captioner.caption(images, beam_size=3)
    for caption, alone in zip(captioner.caption(images, beam_size=3, return_beams=True), plain):
        assert caption.text == alone.text and caption.beams[0].text == caption.text
        scores = [beam.score for beam in caption.beams]
        assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(alone.score)
        assert 1 <= len(caption.beams) <= 3 and len({b.text for b in caption.beams}) == len(caption.beams)
        assert caption.to_dict()["beams"][0]["text"] == caption.text


def test_jupyter_shows_a_caption_and_a_view():
    maps = np.zeros((2, 2, 2), "float32")
    maps[0, 0, 0] = maps[1, 1, 1] = 1
    caption = Caption("red circle", ["red", "circle"], -1.0, maps, np.array([0.5, 0.25], "float32"),
                      beams=[Caption("red circle", ["red", "circle"], -1.0), Caption("red", ["red"], -2.5)])
    assert caption._repr_html_() == caption_html(caption) and "-2.50" in caption._repr_html_()
    page = CaptionView([np.zeros((16, 16, 3), "uint8")], [caption])._repr_html_()
    assert page.count('class="word"') == 2 and "β 0.25" in page


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="one caption per image"):
        view_html([np.zeros((8, 8, 3), "uint8")] * 2, [[Caption("a", ["a"], -1.0)]])
    with pytest.raises(ValueError, match="Unknown upscale 'cubic'"):
        view_html([np.zeros((8, 8, 3), "uint8")], [[Caption("a", ["a"], -1.0)]], upscale="cubic")


def test_the_command_writes_the_page_and_names_a_bad_image(captioner, images, tmp_path, capsys):
    model = tmp_path / "model.keras"
    captioner.save(model)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    out = tmp_path / "report.html"
    assert main(["report", str(model), str(tmp_path / "0.png"), str(tmp_path / "1.png"), "--out", str(out),
                 "--beam", "2"]) == 0
    assert len(figures(out.read_text(encoding="utf-8"))) == 2
    assert main(["report", str(tmp_path / "0.png"), "--out", str(out)]) == 2
    assert "model files (.keras) first" in capsys.readouterr().err
    bad = subprocess.run([sys.executable, "-m", "showattend.cli", "report", str(model), str(tmp_path / "bad.png"),
                          "--out", str(tmp_path / "bad.html")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "'" + str(tmp_path / "bad.png") + "' is not a readable image" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "bad.html").exists()
