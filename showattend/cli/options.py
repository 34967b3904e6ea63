"""Argument types and option groups that several subcommands share."""
import argparse
import sys

__all__ = []  # the subcommands' own helpers; the command line is documented from the parsers


def progress_verbosity():
    """Keras' verbose: a live progress bar in a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def positive(text):
    """An argparse type: ``text`` as an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def positive_float(text):
    """An argparse type: ``text`` as a number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def share(text):
    """An argparse type: ``text`` as a number strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def image_size(text):
    """An argparse type: ``"224"`` or ``"256x192"`` (or ``"256,192"``) as (height, width), each at least 16."""
    parts = text.lower().replace("x", ",").split(",")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or min(sizes) < 16:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 224x224 (at least 16), got {text!r}")
    return sizes


def add_data(parser, from_run=False):
    """--data, --images, --val-split, --seed, --on-bad-image. ``from_run``: --val-split and --seed
    default to None, for the command to take the training run's."""
    parser.add_argument("--data", required=True, metavar="SPEC",
                        help="karpathy:JSON, coco:JSON, flickr:TOKEN_FILE, folder:CSV_OR_JSONL, tfds:NAME or shapes")
    parser.add_argument("--images", metavar="DIR", help="the folder the data's image paths are relative to")
    default = "the training run's (its config.json), else" if from_run else ""
    parser.add_argument("--val-split", type=share, default=None if from_run else 0.1,
                        help=f"for data without splits: the share of images held out for validation (default: "
                             f"{default} 0.1)".replace("  ", " "))
    parser.add_argument("--seed", type=int, default=None if from_run else 0,
                        help=f"random seed (default: {default} 0)".replace("  ", " "))
    parser.add_argument("--on-bad-image", choices=("error", "skip"), default="error",
                        help="an unreadable image file stops with an error naming it (default), or is skipped")


def add_split(parser, default, described=None):
    """--split, defaulting to ``default`` (the help says ``described`` instead where given)."""
    parser.add_argument("--split", default=default,
                        help=f"which split (default: {described or default}); '+' joins splits, e.g. train+val")
