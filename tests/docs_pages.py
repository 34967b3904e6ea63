"""What the docs tests share: the pages, their Python blocks, and the small files the guides use."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
SKIP = re.compile(r"<!--\s*skip:\s*(.*?)\s*-->\s*$")
SKIP_REASONS = ("download", "internet", "GPU", "hosts")


def pages():
    """Every Markdown page of the docs, as paths relative to docs/."""
    return sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))


def python_blocks(text):
    """``(line, code, skip_reason)`` of each ```python block; the reason of ``<!-- skip: ... -->`` on
    the line just before the block, else None."""
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip("\n").splitlines()
        skip = SKIP.search(before[-1]) if before else None
        blocks.append((line, match.group(1), skip.group(1) if skip else None))
    return blocks


def write_guide_files(root, count=24, seed=0):
    """The files the guides' examples read, as a user would have them, under ``root``:

    - ``photos/``: ``count`` shapes images as PNG files, and ``photos/captions.csv`` with the
      columns ``image,caption`` (two captions per image), as for ``showattend.folder``.
    """
    import csv

    from PIL import Image

    from showattend.datasets import shapes

    data = shapes("train", count, seed=seed)
    photos = Path(root) / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    with open(photos / "captions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "caption"])
        for i, (image, refs) in enumerate(zip(data.images, data.captions)):
            Image.fromarray(image).save(photos / f"{i:03d}.png")
            writer.writerows([f"{i:03d}.png", caption] for caption in refs[:2])


# ---- measured figures: they reach a page from benchmarks/*.json, never typed by hand ----

MARKER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]+`")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# a timing or a throughput: measured on one machine, so it must come from a benchmark's JSON
MEASURED = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?(?:ms|s|min|images/s|img/s|steps/s|trials/hour|GFLOP/s)(?![\w/])")
NOT_MEASURED_KEYS = {"settings", "seeds", "seed", "date", "recorded", "machine", "demo_model", "decoder", "options",
                     "best", "backbones", "notes", "epochs", "parameters", "grid_224", "curve"}


def prose(text):
    """A page's text without code, markers and comments (their lines kept, so line numbers hold)."""
    for pattern in (FENCE, MARKER, COMMENT, CODE_SPAN):
        text = pattern.sub(lambda match: "\n" * match.group(0).count("\n") or " ", text)
    return text


def measured_values(value, key=None):
    """The floats a benchmark JSON measured (settings and identifiers left out)."""
    if key in NOT_MEASURED_KEYS:
        return
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from measured_values(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from measured_values(inner, key)
    elif isinstance(value, float):
        yield value


def typed_forms(values):
    """The ways a figure is written: 0.7627 → '0.8' is too short to tell, '0.76' and '0.763' are kept."""
    forms = set()
    for value in values:
        for spec in (".1f", ".2f", ".3f"):
            text = format(value, spec)
            if sum(ch.isdigit() for ch in text.lstrip("-0.")) >= 2 and len(text.replace("-", "").replace(".", "")) >= 3:
                forms.add(text)
    return forms


def benchmark_forms():
    """Every typed form of every figure that ``benchmarks/*.json`` measured."""
    values = []
    for path in (ROOT / "benchmarks").glob("*.json"):
        values += list(measured_values(json.loads(path.read_text(encoding="utf-8"))))
    return typed_forms(values)


def typed_figures(text, forms):
    """``(line, figure)`` of each measured figure typed by hand in a page's text."""
    found = []
    stripped = prose(text)
    for number, line in enumerate(stripped.splitlines(), 1):
        found += [(number, match.group(0)) for match in MEASURED.finditer(line)]
        for token in re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.])", line):
            if token in forms:
                found.append((number, token))
    return found
