"""Every benchmark table renders from its JSON, and every marker in docs/ names a table or a figure
that exists, without building the site (``docsite.benchmark_tables``, ``docsite.markers``)."""
import importlib.util
import json
import re
import sys

import pytest
from PIL import Image

from docs_pages import DOCS, ROOT, pages

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docsite import benchmark_tables, markers  # noqa: E402

FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)


def used_markers(kind):
    """``(page, argument)`` of every ``{{ kind: ... }}`` in docs/, outside code blocks."""
    found = []
    for page in pages():
        text = FENCE.sub(" ", (DOCS / page).read_text(encoding="utf-8"))
        found += [(page, match.group(2).strip()) for match in markers.MARKER.finditer(text)
                  if match.group(1) == kind]
    return found


@pytest.mark.parametrize("name", sorted(benchmark_tables.TABLES))
def test_every_registered_table_renders(name):
    text = benchmark_tables.table(name, where="the test")
    lines = text.splitlines()
    assert any(line.startswith("|") for line in lines) or "no profile" in text, text
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(-+:?\|)+", line):  # a table's separator: every row has as many cells
            rows = [lines[i - 1]]
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            assert all(row.count(" | ") == line.count("|") - 2 for row in rows), (name, rows)
    assert text.rstrip().endswith("measures again.*") and "Measured on" in text


def test_every_table_used_in_the_docs_is_registered():
    missing = [(page, name) for page, name in used_markers("table") if name not in benchmark_tables.TABLES]
    assert not missing, f"tables used but not registered (docsite/benchmark_renderers.py): {missing}; " \
                        f"registered: {sorted(benchmark_tables.TABLES)}"


def test_every_figure_used_in_the_docs_resolves():
    failures = []
    for page, argument in used_markers("figure"):
        try:
            benchmark_tables.figure(argument, where=page)
        except ValueError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_a_figure_combines_figures_and_numbers_left_to_right():
    decode = benchmark_tables.lookup(benchmark_tables.load("data_pipeline"), ["rows", "key=decode", "images_per_s"])
    forward = benchmark_tables.lookup(benchmark_tables.load("data_pipeline"), ["rows", "key=forward", "images_per_s"])
    ratio = benchmark_tables.figure("data_pipeline / rows / key=decode / images_per_s ÷ "
                                    "data_pipeline / rows / key=forward / images_per_s | .2f")
    assert ratio == f"{decode / forward:.2f}"
    assert benchmark_tables.figure("data_pipeline / rows / key=decode / images_per_s × 2 ÷ 4 | .3f") == \
        f"{decode / 2:.3f}"
    # an operator needs spaces around it: a key may hold "×" itself
    assert benchmark_tables.figure("paper_config / rows / measured=input pipeline alone: decode + resize "
                                   "640×480 JPEGs to 224×224 / images_per_s | .0f")
    with pytest.raises(ValueError, match="no key"):
        benchmark_tables.figure("data_pipeline / nothing ÷ 2")


def test_a_table_that_is_not_registered_is_named_in_the_error():
    with pytest.raises(ValueError, match="no benchmark table 'nothing'.*Available"):
        benchmark_tables.table("nothing", where="the test")


# --- the plots: each benchmark draws its PNG from its JSON (``python benchmarks/NAME.py --replot``) ---

PLOTS = [("ablation", "ablation.png", "benchmarks/ablation.md"),
         ("demo_seeds", "demo_seeds.png", "benchmarks/demo.md"),
         ("tuning", "tuning.png", "benchmarks/tuning.md")]


def benchmark_script(name):
    """``benchmarks/NAME.py`` imported as a module (it imports ``record`` from benchmarks/)."""
    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(f"benchmark_script_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, png, page", PLOTS)
def test_each_plot_draws_from_the_committed_json(name, png, page, tmp_path):
    result = json.loads((ROOT / "benchmarks" / f"{name}.json").read_text(encoding="utf-8"))
    path = tmp_path / png
    assert benchmark_script(name).plot(result, str(path)) == str(path)
    with Image.open(path) as image:
        width, height = image.size
        assert image.format == "PNG"
    assert 800 <= width <= 1200 and 300 <= height <= 1600, (width, height)
    assert path.stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == [png]  # nothing partial left behind


@pytest.mark.parametrize("name, png, page", PLOTS)
def test_each_plot_is_committed_and_shown_on_its_page(name, png, page):
    assert (DOCS / "benchmarks" / png).is_file()
    text = (DOCS / page).read_text(encoding="utf-8")
    assert re.search(rf"!\[[^\]]+\]\({re.escape(png)}\)", text), f"docs/{page} does not show {png}"
    assert f"python benchmarks/{name}.py --replot" in text
