"""The attention viewer in a real browser (headless Chromium through Selenium): the report over file://
and `showattend serve` through its page. Each word, hovered, shows a map whose brightest cell on the
page is the cell where that word's attention peaks; the beams are listed with their scores; a corrupt
upload gets its message and the page goes on; 4 clients send 50 requests with no error."""
import io
import json
import pathlib
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from showattend import Captioner
from showattend.datasets import shapes
from showattend.html_view import html_report
from tests.showattend.fixtures import viewer_load_module

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no Chromium and chromedriver here: `make test` installs Debian's chromium and chromium-driver with "
           "apt-get, which needs root and the package mirrors (the internet); Selenium cannot download a driver "
           "offline")

@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     "--force-device-scale-factor=1", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def sharp(vocabulary, tmp_path_factory):
    """A small captioner whose attention is sharp (its score layer ×40), saved, with a shapes image."""
    keras.utils.set_random_seed(1)  # whatever ran before in this process: the same weights, a caption of words
    model = Captioner("small_vgg", vocabulary, embed_dim=16, units=32, attention_dim=16, max_length=8, seed=1)
    score = model.decoder.attention.score.kernel
    score.assign(score.numpy() * 40)
    folder = tmp_path_factory.mktemp("viewer")
    model.save(folder / "sharp.keras")
    image = shapes("test", 1, seed=7).images[0]
    Image.fromarray(image).save(folder / "shapes.png")
    (folder / "corrupt.png").write_bytes((folder / "shapes.png").read_bytes()[:200])
    (caption,) = model.caption([image], beam_size=3, return_attention=True, return_beams=True)
    assert caption.attention.max(axis=(1, 2)).min() > 0.3  # peaked enough that the brightest cell is clear
    return folder, caption


@pytest.fixture(scope="module")
def server(sharp):
    viewer_load = viewer_load_module()
    process, url = viewer_load.start_server(str(sharp[0] / "sharp.keras"))
    yield url
    viewer_load.stop_server(process)


def pixels(element):
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(float)


def peak_cell(frame, plain, grid):
    """The grid cell where the map drawn over ``plain`` is brightest: the overlay is 0.4 image + 0.6 map."""
    heat = ((frame - 0.4 * plain) / 0.6).sum(axis=-1)
    rows, cols = grid
    h, w = heat.shape[0] // rows * rows, heat.shape[1] // cols * cols
    cells = heat[:h, :w].reshape(rows, h // rows, cols, w // cols).mean(axis=(1, 3))
    return np.unravel_index(np.argmax(cells), grid)


def check_each_word(driver, figure, caption, screenshots, name):
    """Hover each word of ``figure``; the image must show the word's map, brightest where α peaks."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    image = figure.find_element("css selector", "img")
    words = figure.find_elements("css selector", ".word")
    assert [w.text.split("\n")[0] for w in words] == caption.tokens
    plain = pixels(image)
    for i, word in enumerate(words):
        ActionChains(driver).move_to_element(word).perform()
        WebDriverWait(driver, 10).until(lambda _: figure.get_attribute("data-shown") == str(i))
        frame = pixels(image)
        assert peak_cell(frame, plain, caption.attention.shape[1:]) == \
            np.unravel_index(np.argmax(caption.attention[i]), caption.attention.shape[1:]), f"word {i}"
    driver.save_screenshot(str(screenshots / f"{name}.png"))
    return len(words)


def test_the_report_over_file_shows_each_words_map(browser, sharp, tmp_path):
    folder, caption = sharp
    report = html_report(str(tmp_path / "report.html"), [str(folder / "shapes.png")], str(folder / "sharp.keras"))
    browser.get(pathlib.Path(report).as_uri())
    (figure,) = browser.find_elements("css selector", "figure.view")
    assert check_each_word(browser, figure, caption, tmp_path, "report") == len(caption.tokens)
    requests = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert requests == []  # everything is inlined


def upload(driver, paths, beam=3):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.body.dataset.state = 'ready'")
    beam_box = driver.find_element("id", "beam")
    beam_box.clear()
    beam_box.send_keys(str(beam))
    driver.find_element("id", "files").send_keys("\n".join(str(p) for p in paths))
    driver.find_element("id", "caption").click()
    WebDriverWait(driver, 180).until(lambda d: d.find_element("tag name", "body").get_attribute("data-state")
                                     in ("done", "error"))
    return driver.find_element("tag name", "body").get_attribute("data-state")


def test_an_upload_through_the_page_shows_the_caption_its_maps_and_beams(browser, sharp, server, tmp_path):
    folder, caption = sharp
    browser.get(server)
    assert upload(browser, [folder / "shapes.png"]) == "done"
    (figure,) = browser.find_elements("css selector", "#results figure.view")
    check_each_word(browser, figure, caption, tmp_path, "served")
    listed = [item.text.rsplit(" ", 1) for item in figure.find_elements("css selector", ".beams li")]
    assert [(text, float(score)) for text, score in listed] == \
        [(beam.text, pytest.approx(beam.score, abs=0.006)) for beam in caption.beams[1:]]
    assert len(listed) == len(caption.beams) - 1 >= 1


DROP = """
var bytes = Uint8Array.from(atob(arguments[0]), function (c) { return c.charCodeAt(0); });
var padded = new Uint8Array(bytes.length + arguments[2]); padded.set(bytes);
var files = new DataTransfer(); files.items.add(new File([padded], arguments[1], {type: 'image/png'}));
document.body.dataset.state = 'ready';
document.getElementById('upload').dispatchEvent(new DragEvent('drop', {dataTransfer: files, bubbles: true}));
"""


def drop(driver, name, content, extra_bytes=0):
    """Drop a file on the page's form, as a file dragged from the desktop arrives."""
    import base64

    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(DROP, base64.b64encode(content).decode("ascii"), name, extra_bytes)
    WebDriverWait(driver, 180).until(lambda d: d.find_element("tag name", "body").get_attribute("data-state")
                                     in ("done", "error"))
    return driver.find_element("tag name", "body").get_attribute("data-state")


def test_a_corrupt_drop_and_one_too_large_get_their_message_and_a_good_image_still_works(browser, sharp, server):
    folder, _ = sharp
    browser.get(server)
    message = browser.find_element("id", "error")
    assert drop(browser, "corrupt.png", (folder / "corrupt.png").read_bytes()) == "error"
    assert message.is_displayed() and "'corrupt.png' is not a readable image" in message.text
    assert drop(browser, "big.png", (folder / "shapes.png").read_bytes(), extra_bytes=21_000_000) == "error"
    assert "The upload is 21.0 MB, over the limit of 20 MB." in message.text  # refused before it is sent
    assert upload(browser, [folder / "shapes.png"], beam=2) == "done"
    assert not message.is_displayed() and len(browser.find_elements("css selector", "#results figure.view")) == 1
    assert drop(browser, "dropped.png", (folder / "shapes.png").read_bytes()) == "done"
    assert len(browser.find_elements("css selector", "#results figure.view")) == 2


def test_four_clients_send_fifty_requests_without_an_error(sharp, server, tmp_path):
    from docsite.benchmark_renderers import viewer_load as table

    viewer_load = viewer_load_module()
    run = viewer_load.measure(server, (sharp[0] / "shapes.png").read_bytes(), clients=4, requests=50)
    assert run["errors"] == 0, run["error_messages"]
    assert 0 < run["p50"] <= run["p90"] <= run["p99"] <= run["max"] and run["images"] == 50
    path = tmp_path / "viewer_load.json"  # as the benchmark writes it
    viewer_load.write_result(path, {"clients": 4, "requests": 50, "repeats": 1, "beam": 3, "model": "a small model",
                                    "runs": [run]})
    assert "| 4 | 50 | 0 |" in table(json.loads(path.read_text()))
