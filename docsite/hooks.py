"""MkDocs hooks: the API pages, the command-line page and the benchmark figures, made at build time.

- One API page per public module (``docsite.modules``), listed under "API reference".
- ``{{ cli }}`` becomes the reference of every ``showattend`` subcommand, read from the argparse
  parsers themselves.
- ``{{ table: NAME }}`` becomes a benchmark table rendered from ``benchmarks/*.json``, and
  ``{{ figure: FILE / KEY / ... | FORMAT }}`` one figure from it (``docsite.benchmark_tables``).

A marker that names something that does not exist raises, so ``mkdocs build --strict`` fails.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # mkdocs loads this file by path; the package and docsite live at the root
    sys.path.insert(0, str(ROOT))

from mkdocs.structure.files import File  # noqa: E402

from docsite import markers  # noqa: E402
from docsite.api_pages import api_index, api_nav, module_page  # noqa: E402
from docsite.modules import public_modules  # noqa: E402

API_SECTION = "API reference"


def on_config(config):
    modules = public_modules()
    for entry in config.nav:
        if isinstance(entry, dict) and API_SECTION in entry:
            entry[API_SECTION] = api_nav(modules)
    return config


def on_files(files, config):
    modules = public_modules()
    files.append(File.generated(config, "api/index.md", content=api_index(modules)))
    for name in modules:
        files.append(File.generated(config, f"api/{name}.md", content=module_page(name)))
    return files


def on_page_markdown(markdown, page, config, files):
    return markers.expand(markdown, page.file.src_uri)
