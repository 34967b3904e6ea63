"""Every Python block in docs/ runs, page by page, in a fresh folder that holds the files a user
would have (``docs_pages.write_guide_files``, and ``runs/demo/model.keras`` as ``make demo`` leaves
it): the blocks of one page share one namespace, in order, as a reader runs them. A block that
needs a download says so in ``<!-- skip: ... -->`` just above it.
"""
import os
import shutil

import keras
import pytest

from docs_pages import DOCS, SKIP_REASONS, pages, python_blocks, write_guide_files

PAGES_WITH_CODE = [page for page in pages() if python_blocks((DOCS / page).read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    """A stand-in for ``make demo``'s model: the demo's architecture and learning rate, trained on 256
    images (the demo: 2500) for the epochs it takes to caption every guide photo with 3 words or more."""
    from showattend import Captioner, Vocabulary
    from showattend.datasets import shapes
    from showattend.demo import DEMO_MODEL

    keras.utils.set_random_seed(0)
    train, photos = shapes("train", 256, seed=1), shapes("train", 24, seed=0).images
    model = Captioner(vocabulary=Vocabulary.build(train.all_captions(), min_count=1), **DEMO_MODEL)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    for epochs in range(1, 5):
        model.fit(train, epochs=1, batch_size=32, verbose=0)
        shortest = min(len(caption.tokens) for caption in model.caption(photos))
        if shortest >= 3:
            break
    assert shortest >= 3, f"after {epochs} epochs a guide photo still gets a {shortest}-word caption"
    path = tmp_path_factory.mktemp("demo") / "model.keras"
    model.save(path)
    keras.utils.clear_session()
    return path


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_python_blocks_run(page, tmp_path, monkeypatch, demo_model):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    write_guide_files(tmp_path)
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    shutil.copy(demo_model, tmp_path / "runs" / "demo" / "model.keras")
    namespace, ran = {"__name__": "__guide__"}, 0
    try:
        for line, code, skip in python_blocks((DOCS / page).read_text(encoding="utf-8")):
            if skip is not None:
                assert any(word in skip for word in SKIP_REASONS), f"{page}:{line}: a skip must say why ({skip!r})"
                continue
            try:
                exec(compile(code, f"{page}:{line}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"the block at {page}:{line} failed: {error!r}") from error
            ran += 1
    finally:
        keras.mixed_precision.set_global_policy("float32")
        keras.utils.clear_session()
        os.environ.pop("SHOWATTEND_MAX_IMAGE_PIXELS", None)
    assert ran > 0, f"{page}: every block is skipped"


def test_the_pages_hold_code():
    # the guides teach by example: most pages carry blocks that this test runs
    assert len(PAGES_WITH_CODE) >= 8, PAGES_WITH_CODE
