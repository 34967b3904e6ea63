"""Markers in the docs' Markdown that the build replaces: ``{{ cli }}``, ``{{ table: NAME }}`` and
``{{ figure: FILE / KEY / ... | FORMAT }}``. Code blocks are left alone, so a page can show a marker."""
import re

from docsite import benchmark_tables

MARKER = re.compile(r"\{\{\s*(cli|table|figure)\s*(?::\s*(.*?))?\s*\}\}")
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)


def _replace(match, where):
    kind, argument = match.group(1), match.group(2) or ""
    if kind == "cli":
        from docsite.cli_reference import cli_reference
        from showattend.cli import _parser
        return cli_reference(_parser())
    if kind == "table":
        return benchmark_tables.table(argument.strip(), where)
    return benchmark_tables.figure(argument, where)


def expand(markdown, where="a page"):
    """``markdown`` with every marker outside code blocks replaced.

    Args:
        markdown: a page's Markdown.
        where: the page's path, named in errors.

    Returns:
        The Markdown with the markers replaced.

    Raises:
        ValueError: a marker names a table, a JSON file or a key that does not exist.
    """
    pieces, last = [], 0
    for fence in FENCE.finditer(markdown):
        pieces.append(MARKER.sub(lambda match: _replace(match, where), markdown[last:fence.start()]))
        pieces.append(fence.group(0))
        last = fence.end()
    pieces.append(MARKER.sub(lambda match: _replace(match, where), markdown[last:]))
    return "".join(pieces)
