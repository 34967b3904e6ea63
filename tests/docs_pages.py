"""What the docs tests share: the pages, their Python blocks, and the small files the guides use."""
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
