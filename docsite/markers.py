"""Markers in the docs' Markdown that the build replaces: ``{{ cli }}``, ``{{ options: DECODER }}``,
``{{ space: DECODER }}``, ``{{ table: NAME }}`` and ``{{ figure: FILE / KEY / ... | FORMAT }}``. Code blocks are left alone,
so a page can show a marker."""
import re

from docsite import benchmark_tables

MARKER = re.compile(r"\{\{\s*(cli|options|space|table|figure)\s*(?::\s*(.*?))?\s*\}\}")
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)


def _replace(match, where):
    kind, argument = match.group(1), match.group(2) or ""
    if kind == "cli":
        from docsite.cli_reference import cli_reference
        from showattend.cli import _parser
        return cli_reference(_parser())
    if kind == "options":
        return decoder_options_table(argument.strip())
    if kind == "space":
        return search_space_rows(argument.strip())
    if kind == "table":
        return benchmark_tables.table(argument.strip(), where)
    return benchmark_tables.figure(argument, where)


def decoder_options_table(decoder):
    """A Markdown table of a decoder's declared options: the docs' list of them, which cannot drift."""
    from showattend.decoders import decoder_class

    def shown(value):
        return f"`{value!r}`" if isinstance(value, str) else f"`{value}`"

    rows = ["| option | default | the paper's | accepted | what it is |", "|---|---|---|---|---|"]
    for option in decoder_class(decoder).OPTIONS:
        if option.choices:
            accepted = ", ".join(shown(c) for c in option.choices)
        elif option.kind is bool:
            accepted = "`True`, `False`"
        else:
            number = "an integer" if option.kind is int else "a number"
            accepted = (f"{number} in [{option.minimum}, {option.maximum}]" if option.maximum is not None
                        else f"{number} ≥ {option.minimum}" if option.minimum is not None else number)
        condition = f" (with `{option.when[0]}={option.when[1][0]!r}`)" if option.when else ""
        rows.append(f"| `{option.name}` | {shown(option.default)} | {shown(option.paper)} | {accepted} | "
                    f"{option.help}{condition} |")
    return "\n".join(rows)


def search_space_rows(decoder):
    """Rows of the tuning page's space table (name | tuned over | first trial) for a decoder's
    searched options and the learning rate, read from the declarations."""
    from showattend.tuning.space import LEARNING_RATE, decoder_space

    def over(kind, arguments):
        if kind == "Choice":
            return ", ".join(f"`{v}`" if isinstance(v, str) else str(v) for v in arguments["values"])
        scale = ", log scale" if arguments.get("sampling") == "log" else ""
        step = f" in steps of {arguments['step']}" if arguments.get("step") else ""
        return f"{arguments['min_value']} to {arguments['max_value']}{step}{scale}"

    always, conditional = decoder_space(decoder)
    rows = [f"| `{name}` | {over(kind, arguments)} | {f'`{first}`' if isinstance(first, str) else first} |"
            for name, (kind, arguments, first) in always.items()]
    for (option, values), space in conditional.items():
        rows += [f"| `{name}` | only with `{option}` {', '.join(map(repr, values))}: {over(kind, arguments)} | {first} |"
                 for name, (kind, arguments, first) in space.items()]
    kind, arguments, first = LEARNING_RATE
    rows.append(f"| `learning_rate` | Adam's peak rate, {over(kind, arguments)} | {first} |")
    return "\n".join(rows)


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
