"""The docs site builds strictly, and no measured figure in it is typed by hand.

The build (``mkdocs build --strict``) fails on a broken link, a missing page, a docstring that names
a parameter the function lacks, or a marker that names a benchmark file or key that does not exist.
Measured figures reach the pages only through ``{{ table: ... }}`` and ``{{ figure: ... }}`` markers,
rendered from ``benchmarks/*.json`` (``docsite.benchmark_tables``).
"""
import os
import subprocess
import sys

import pytest

from docs_pages import DOCS, ROOT, benchmark_forms, pages, typed_figures, typed_forms

def test_the_figure_check_finds_typed_figures():
    forms = typed_forms([0.7627467941346328, 26.566666666666666, 0.5])
    assert {"0.76", "0.763", "26.6", "26.57"} <= forms and "0.5" not in forms
    page = ("Soft attention reaches BLEU-4 0.763 in 27 s.\n| soft | 0.76 |\n"
            "From JSON: {{ figure: ablation / variants / 0 / BLEU-4 | .2f }}, `--seconds-per-word 0.8`.\n"
            "```python\nx = 0.76  # 12 s\n```\n<!-- 0.763 -->\nafter the code: 0.763\n")
    assert typed_figures(page, forms) == [(1, "27 s"), (1, "0.763"), (2, "0.76"), (8, "0.763")]


@pytest.mark.parametrize("page", pages())
def test_no_measured_figure_is_typed_by_hand(page):
    found = typed_figures((DOCS / page).read_text(encoding="utf-8"), benchmark_forms())
    assert not found, (f"docs/{page}: measured figures typed by hand (use {{{{ figure: FILE / KEY | FORMAT }}}} or "
                       f"{{{{ table: NAME }}}}): " + ", ".join(f"line {line}: {figure!r}" for line, figure in found))


def test_docs_build_strictly(tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    warnings = [line for line in result.stderr.splitlines() if line.startswith(("WARNING -", "ERROR -"))]
    assert result.returncode == 0 and not warnings, "\n".join(warnings) or result.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "showattend train" in cli and "--backbone" in cli and "{{ cli }}" not in cli
    api = (site / "api" / "showattend.captioner" / "index.html").read_text(encoding="utf-8")
    assert "showattend.captioner.Captioner" in api and "Args" in api or "Parameters" in api
    benchmark = (site / "benchmarks" / "demo" / "index.html").read_text(encoding="utf-8")
    assert "Measured on" in benchmark and "{{" not in benchmark
    built_pages = {path.relative_to(site).parent.as_posix() for path in site.rglob("index.html")}
    assert {"getting-started", "training", "attention", "tuning", "faults", "api/showattend"} <= built_pages
