"""Benchmark figures for the docs, read from ``benchmarks/*.json`` at build time.

A table is a function registered with ``@renders(NAME)`` that turns a JSON file into Markdown rows;
the build adds the line that names the machine, the date and the command that wrote the figures.
A figure in prose is ``{{ figure: FILE / KEY / ... | FORMAT }}``: KEY steps into dicts, an integer
into lists, and ``field=value`` picks the list item whose field has that value.
"""
import json
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


def figure(argument, where="a page"):
    """The text of ``{{ figure: FILE / KEY / ... | FORMAT }}`` (FORMAT as in ``format()``, e.g. ``.2f``)."""
    path, _, spec = argument.partition("|")
    keys = [key.strip() for key in path.split("/") if key.strip()]
    if not keys:
        raise ValueError(f"{where}: an empty figure marker")
    value = lookup(load(keys[0], where), keys[1:], where)
    try:
        return format(value, spec.strip())
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: cannot format {value!r} ({'/'.join(keys)}) with {spec.strip()!r}: {error}")


def spread(summary, spec=".2f"):
    """``mean (min–max)`` of a ``{"min", "mean", "max"}`` summary."""
    return f"{summary['mean']:{spec}} ({summary['min']:{spec}}–{summary['max']:{spec}})"


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


@renders("demo_seeds")
def demo_seeds(data):
    metrics = [("BLEU-4", ".3f"), ("METEOR", ".3f"), ("CIDEr-D", ".2f"), ("semantic_f1", ".3f"),
               ("attention_correctness", ".3f"), ("uniform_baseline", ".3f"), ("best_epoch", ".0f"),
               ("train_seconds", ".0f")]
    header = ["Attention"] + [name.replace("_", " ") for name, _ in metrics]
    rows = [[variant] + [spread(summary[name], spec) for name, spec in metrics]
            for variant, summary in data["summary"].items()]
    seeds = ", ".join(map(str, data["seeds"]))
    return markdown_table(header, rows) + f"\n\nMean (min–max) over seeds {seeds}."
