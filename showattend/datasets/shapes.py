"""The built-in shapes data: coloured circles, squares and triangles on a 3×3 grid, with captions.

Each image has 1 to 3 objects, each in its own cell of a 3×3 grid, and several reference captions
that name every object as "<colour> <shape>" (with its size and position in some templates). Every
object keeps its boolean mask, so attention correctness can be measured.
"""
import numpy as np

from showattend.data.dataset import CaptionDataset, GroundedObject

COLOURS = {"red": (215, 45, 45), "green": (45, 175, 65), "blue": (50, 90, 220), "yellow": (225, 205, 50)}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": 0.45, "large": 0.85}  # side (or diameter) as a share of the cell
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "center", "right")
WORD_CLASSES = {"colour": frozenset(COLOURS), "shape": frozenset(SHAPES), "size": frozenset(SIZES),
                "position": frozenset(ROWS + COLUMNS)}  # attention correctness is reported per class
SPLITS = {"train": (0, 4000), "val": (1, 500), "test": (2, 500)}  # split -> (seed offset, default size)


def position_words(row, col):
    """The words that name a cell of the 3×3 grid: "top left", "top", …, "center" for the middle cell.

    Args:
        row: the cell's row, 0 (top) to 2 (bottom).
        col: the cell's column, 0 (left) to 2 (right).

    Returns:
        A tuple of one or two words.

    Examples:
        >>> position_words(0, 0), position_words(0, 1), position_words(1, 1)
        (('top', 'left'), ('top',), ('center',))
    """
    if (row, col) == (1, 1):
        return ("center",)
    if col == 1:
        return (ROWS[row],)
    return (ROWS[row], COLUMNS[col])


def _position_phrase(row, col):
    words = position_words(row, col)
    preposition = "at the" if len(words) == 1 and words[0] in ("top", "bottom") else "in the"
    return f"{preposition} {' '.join(words)}"


def _captions(objects):
    """Four references from four templates; objects in reading order."""
    def phrase(o, size=False, position=False):
        text = f"{o['size']} " if size else ""
        text += f"{o['colour']} {o['shape']}"
        return text + (f" {_position_phrase(o['row'], o['col'])}" if position else "")

    def join(parts):
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def listing(**options):
        return join(["a " + phrase(o, **options) for o in objects])

    return [
        listing(size=True, position=True),
        listing(),
        "there is " + listing(size=True),
        listing(position=True),
    ]


def _object_mask(shape, centre, side, size):
    """Boolean mask of one shape, sampled at pixel centres."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    cx, cy = centre
    half = side / 2
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= half ** 2
    if shape == "square":
        return (np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)
    top = cy - half  # upright triangle: apex at the top, base at the bottom
    return (y >= top) & (y <= cy + half) & (np.abs(x - cx) <= (y - top) / 2)


def _draw_image(rng, image_size):
    cell = image_size / 3
    grey = rng.uniform(90, 160)
    canvas = np.full((image_size, image_size, 3), grey, dtype=np.float64)
    count = rng.integers(1, 4)
    cells = sorted(rng.choice(9, size=count, replace=False))  # reading order
    objects, grounded = [], []
    for index in cells:
        row, col = divmod(int(index), 3)
        shape = SHAPES[rng.integers(len(SHAPES))]
        colour = list(COLOURS)[rng.integers(len(COLOURS))]
        size = list(SIZES)[rng.integers(len(SIZES))]
        jitter = rng.uniform(-0.08, 0.08, size=2) * cell
        centre = ((col + 0.5) * cell + jitter[0], (row + 0.5) * cell + jitter[1])
        mask = _object_mask(shape, centre, SIZES[size] * cell, image_size)
        rgb = np.clip(np.array(COLOURS[colour]) + rng.integers(-15, 16, size=3), 0, 255)
        canvas[mask] = rgb
        objects.append({"shape": shape, "colour": colour, "size": size, "row": row, "col": col})
        grounded.append(GroundedObject(name=(colour, shape), mask=mask,
                                       attributes={"size": size, "position": position_words(row, col)}))
    canvas += rng.normal(0.0, 6.0, size=canvas.shape)
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8), _captions(objects), grounded


def shapes(split="train", num_images=None, image_size=64, seed=0):
    """The shapes data for ``split`` ("train", "val" or "test") as a CaptionDataset.

    Splits are drawn from different random streams, so they never share an image; the same
    ``seed`` gives the same data.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        num_images: how many images; by default 4,000 for train and 500 for val and test.
        image_size: the side of the square images in pixels, 24 to 1024.
        seed: the seed of the drawing.

    Returns:
        A CaptionDataset named ``"shapes-<split>"``: uint8 images (N, image_size, image_size, 3),
        four reference captions per image, each object's mask, and the word classes (colour,
        shape, size, position) that attention correctness is reported for.

    Raises:
        ValueError: an unknown split, ``num_images`` under 1, or an ``image_size`` that is not one
            whole number from 24 to 1024.

    Examples:
        >>> data = shapes("train", num_images=2, seed=1)
        >>> data.images.shape, data.images.dtype
        ((2, 64, 64, 3), dtype('uint8'))
        >>> len(data.captions[0]), data.captions[0][1]
        (4, 'a green circle, a red circle and a green circle')
        >>> [o.name for o in data.objects[0]]
        [('green', 'circle'), ('red', 'circle'), ('green', 'circle')]
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Accepted: {', '.join(SPLITS)}.")
    offset, default_size = SPLITS[split]
    num_images = default_size if num_images is None else int(num_images)
    if num_images < 1:
        raise ValueError(f"num_images must be at least 1, got {num_images}.")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or not 24 <= image_size <= 1024:
        raise ValueError(f"image_size must be one integer (the images are square) between 24 and 1024 pixels, "
                         f"got {image_size!r}.")
    rng = np.random.default_rng([int(seed), offset])
    drawn = [_draw_image(rng, int(image_size)) for _ in range(num_images)]
    images = np.stack([d[0] for d in drawn])
    return CaptionDataset(images, [d[1] for d in drawn], [d[2] for d in drawn], name=f"shapes-{split}",
                          object_names=frozenset((c, s) for c in COLOURS for s in SHAPES),
                          object_modifiers=frozenset(SIZES), word_classes=WORD_CLASSES)
