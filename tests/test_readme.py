"""The README is a front page: the two commands first, at most 150 lines, an example that runs, and
headline figures that are the benchmarks' own (each one found in benchmarks/*.json)."""
import re

from docs_pages import ROOT, benchmark_forms, python_blocks, write_guide_files

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_come_first_and_the_page_is_short():
    lines = README.splitlines()
    assert len(lines) <= 150, len(lines)
    first_block = README.split("```")[1]
    assert first_block.startswith("bash") and "make demo" in first_block and "make test" in first_block
    assert README.index("make demo") < 200


def test_every_decimal_figure_is_a_benchmark_figure_on_a_line_that_links_its_page():
    forms = benchmark_forms()
    prose = re.sub(r"```.*?```", " ", README, flags=re.DOTALL)
    figures = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose)
    assert len(figures) >= 8, figures
    assert [figure for figure in figures if figure not in forms] == []
    for paragraph in prose.split("\n- "):
        if re.search(r"\d+\.\d+", paragraph):
            assert "docs/benchmarks/" in paragraph, paragraph


def test_the_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    write_guide_files(tmp_path)
    [(line, code, skip)] = python_blocks(README)
    assert skip is None and len(code.splitlines()) <= 16
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)
    assert (tmp_path / "attention.png").stat().st_size > 10_000 and (tmp_path / "captioner.keras").is_file()
    assert namespace["same"].caption(namespace["test"].images[:1])[0].text == namespace["captioner"].caption(
        namespace["test"].images[:1])[0].text
