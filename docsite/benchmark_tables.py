"""Benchmark figures for the docs, read from ``benchmarks/*.json`` at build time.

A table is a function registered with ``@renders(NAME)`` that turns a JSON file into Markdown rows;
the build adds the line that names the machine, the date and the command that wrote the figures.
A figure in prose is ``{{ figure: FILE / KEY / ... | FORMAT }}``: KEY steps into dicts, an integer
into lists, and ``field=value`` picks the list item whose field has that value. ``÷`` and ``×``,
with a space on each side, combine a figure with another or with a number, left to right:
``{{ figure: F / a ÷ F / b | .0f }}``, ``{{ figure: F / bytes × 123287 ÷ 1e9 | .1f }}``.

The renderers themselves live in ``docsite.benchmark_renderers``; this module holds what they share.
"""
import json
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TABLES = {}


def renders(name):
    """Register the decorated function as the renderer of ``{{ table: name }}``."""
    def register(function):
        TABLES[name] = function
        return function
    return register


def load(file_name, where="a page"):
    """The parsed ``benchmarks/FILE.json``, or a ValueError naming the page and the missing file."""
    path = BENCHMARKS / f"{file_name}.json"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in BENCHMARKS.glob("*.json")))
        raise ValueError(f"{where}: no benchmark file {path.name}. Available: {available}")
    return json.loads(path.read_text(encoding="utf-8"))


def machine(data):
    """The machine a JSON file records, in words."""
    found = data.get("machine", "an unrecorded machine")
    if isinstance(found, dict):
        devices = found.get("devices") or []
        device = "GPU" if any("GPU" in str(d) for d in devices) else "no GPU"
        return f"{found.get('cpu_count', '?')} CPU cores, {device}, TensorFlow {found.get('tensorflow', '?')}"
    return str(found)


def source_line(file_name, data):
    """The line under every table: machine, date, and how to measure again."""
    return (f"*Measured on {machine(data)}, {data.get('date', 'an unrecorded date')}. "
            f"From `benchmarks/{file_name}.json`; `python benchmarks/{file_name}.py` measures again.*")


def table(name, where="a page"):
    """The Markdown of ``{{ table: name }}``: the rows and the source line.

    Raises:
        ValueError: no renderer is registered under ``name``.
    """
    if name not in TABLES:
        raise ValueError(f"{where}: no benchmark table {name!r}. Available: {', '.join(sorted(TABLES))}")
    file_name = name.split(".")[0]
    data = load(file_name, where)
    return f"{TABLES[name](data).rstrip()}\n\n{source_line(file_name, data)}\n"


def lookup(data, keys, where="a page"):
    """Step into ``data`` along ``keys`` (see the module docstring).

    Raises:
        ValueError: a key leads nowhere; the message names the keys that exist there.
    """
    value = data
    for key in keys:
        if isinstance(value, list):
            if "=" in key:
                field, wanted = (part.strip() for part in key.split("=", 1))
                matches = [item for item in value if str(item.get(field)) == wanted]
                if not matches:
                    options = ", ".join(str(item.get(field)) for item in value)
                    raise ValueError(f"{where}: no item with {field}={wanted!r}; there are: {options}")
                value = matches[0]
            elif key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
                value = value[int(key)]
            else:
                raise ValueError(f"{where}: {key!r} is not an index into a list of {len(value)}")
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            options = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"{where}: no key {key!r}; there are: {options}")
    return value


def _operand(text, where):
    """One side of a figure: a number, or ``FILE / KEY / ...`` looked up in ``benchmarks/FILE.json``."""
    try:
        return float(text)
    except ValueError:
        pass
    keys = [key.strip() for key in text.split("/") if key.strip()]
    if not keys:
        raise ValueError(f"{where}: an empty figure marker")
    return lookup(load(keys[0], where), keys[1:], where)


def figure(argument, where="a page"):
    """The text of ``{{ figure: FILE / KEY / ... | FORMAT }}`` (FORMAT as in ``format()``, e.g. ``.2f``).

    ``A ÷ B × C ...`` combines the figure ``A`` with the others (figures or numbers), left to right;
    the operators need spaces around them, so that a key such as ``640×480`` stays whole.
    """
    path, _, spec = argument.partition("|")
    pieces = re.split(r"\s([÷×])\s", path)
    value = _operand(pieces[0].strip(), where)
    for operator, operand in zip(pieces[1::2], pieces[2::2]):
        other = _operand(operand.strip(), where)
        try:
            value = value / other if operator == "÷" else value * other
        except (TypeError, ZeroDivisionError) as error:
            raise ValueError(f"{where}: cannot compute {path.strip()!r}: {error}")
    try:
        return format(value, spec.strip())
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: cannot format {value!r} ({path.strip()}) with {spec.strip()!r}: {error}")


def spread(summary, spec=".2f"):
    """``mean (min–max)`` of a ``{"min", "mean", "max"}`` summary."""
    return f"{summary['mean']:{spec}} ({summary['min']:{spec}}–{summary['max']:{spec}})"


def summarize(values):
    """``{"min", "mean", "max"}`` of a sequence of numbers (as ``spread`` reads it)."""
    values = [float(value) for value in values]
    return {"min": min(values), "mean": sum(values) / len(values), "max": max(values)}


def _numeric(cell):
    text = str(cell).strip()
    return text[:1].isdigit() or (text[:1] in "−-" and text[1:2].isdigit())


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells; a column of numbers is aligned right."""
    rows = [[str(cell) for cell in row] for row in rows]
    right = [all(_numeric(row[i]) for row in rows if i < len(row) and row[i].strip()) and
             any(i < len(row) and row[i].strip() for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---:|" if r else "---|" for r in right)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


from docsite import benchmark_renderers  # noqa: E402,F401  (registers the tables; imports the helpers above)
