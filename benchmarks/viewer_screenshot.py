"""The viewer's screenshot in the docs: `showattend serve` with models side by side, one shapes image
uploaded through the page in headless Chromium, and a word hovered.

    python benchmarks/viewer_screenshot.py MODEL.keras [MORE.keras] [--word 2] [--out docs/viewer.png]

Needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver) and Selenium.
docs/viewer.png was made with the demo's soft-attention LSTM and its Transformer (seed 0 of
``python benchmarks/decoders.py``'s runs) side by side.
"""
import argparse
import io
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--word", type=int, default=2, help="the word of the first caption to hover")
    parser.add_argument("--seed", type=int, default=7, help="the shapes test image's seed")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "viewer.png"))
    args = parser.parse_args()
    import numpy as np
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from showattend.datasets import shapes
    from viewer_load import start_server, stop_server

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1400",
                     "--force-device-scale-factor=1"):
        options.add_argument(argument)
    process, url = start_server(args.models)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        with tempfile.TemporaryDirectory() as folder:
            image = os.path.join(folder, "shapes.png")
            Image.fromarray(shapes("test", 1, seed=args.seed).images[0]).save(image)
            driver.get(url)
            if len(args.models) > 1:
                Select(driver.find_element("id", "model")).select_by_value("all")
            driver.find_element("id", "files").send_keys(image)
            driver.find_element("id", "caption").click()
            WebDriverWait(driver, 300).until(lambda d: d.find_element("tag name", "body").get_attribute("data-state")
                                             == "done")
            figure = driver.find_elements("css selector", "figure.view")[0]
            word = figure.find_elements("css selector", ".word")[args.word]
            ActionChains(driver).move_to_element(word).perform()
            WebDriverWait(driver, 10).until(lambda _: figure.get_attribute("data-shown") == str(args.word))
            shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
            inked = np.flatnonzero((np.asarray(shot) < 250).any(axis=(1, 2)))  # rows that are not blank
            shot.crop((0, 0, shot.width, min(int(inked[-1]) + 24, shot.height))).save(args.out, optimize=True)
    finally:
        driver.quit()
        stop_server(process)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
