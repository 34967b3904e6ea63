"""Every Python block in docs/ runs, page by page, in a fresh folder that holds the files a user
would have (``docs_pages.write_guide_files``): the blocks of one page share one namespace, in order,
as a reader runs them. A block that needs a download says so in ``<!-- skip: ... -->`` just above it.
"""
import os

import keras
import pytest

from docs_pages import DOCS, SKIP_REASONS, pages, python_blocks, write_guide_files

PAGES_WITH_CODE = [page for page in pages() if python_blocks((DOCS / page).read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    write_guide_files(tmp_path)
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
