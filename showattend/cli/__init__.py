"""The `showattend` command: parses arguments, calls the library, prints. No logic of its own.

Each subcommand is a module with ``add_parser(commands)`` and ``run(args)``; they are the command's
internals, and the command line itself is documented from the parsers (``showattend --help``,
``showattend SUBCOMMAND --help``). ``main`` runs the command from Python.
"""
import argparse
import signal
import sys

from cnn_backbones.hub import MissingExtraError
from showattend.cli import caption, demo, evaluate, features, report, serve, train, tune
from showattend.files import DiskFullError
from showattend.signals import Terminated, handle_signals
from showattend.training.cluster import WorkerLostError

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(prog="showattend", description='"Show, Attend and Tell" image captioning.')
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (demo, train, evaluate, features, caption, report, serve, tune):
        module.add_parser(commands)
    return parser


def main(argv=None):
    """Run the `showattend` command with ``argv`` and return its exit status.

    Errors a user can fix (a missing or existing file, a bad value, a full disk) are printed to
    stderr as ``showattend: error: …`` and give 2; Ctrl-C or SIGTERM stops between two batches and
    gives 130 or 143 (rerun the same command to resume); a lost worker of `train --multi-worker`
    gives 1 on every other worker. ``--help`` and argparse's own errors exit through ``SystemExit``,
    as argparse does.

    Args:
        argv: the arguments after ``showattend`` (a list of strings); None for ``sys.argv[1:]``.

    Returns:
        The exit status: 0, 1, 2, 130 or 143.

    Examples:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> os.makedirs("photos")
        >>> for i in range(2):
        ...     Image.fromarray(np.full((32, 32, 3), 80 * i, "uint8")).save(f"photos/{i}.png")
        >>> with open("photos/captions.csv", "w") as f:
        ...     _ = f.write("image,caption\\n0.png,a black square\\n1.png,a grey square\\n")
        >>> main(["features", "--data", "folder:photos/captions.csv", "--images", "photos",
        ...       "--backbone", "small_vgg", "--image-size", "32", "--out", "features"])
        Caching small_vgg features (32×32 → (4, 4, 64)) of 2 images into features
        ...
        features holds 2 images (0 unreadable)
        0
        >>> main(["caption", "missing.keras", "photos/0.png"])  # stderr: showattend: error: No saved captioner …
        2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    try:
        with handle_signals():  # Ctrl-C and SIGTERM stop between two batches
            args.run(args)
    except (FileNotFoundError, FileExistsError, ValueError, DiskFullError, MissingExtraError) as error:
        print(f"showattend: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print(f"showattend: {'terminated (SIGTERM)' if terminated else 'interrupted'}; run the same command again "
              "to resume.", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except WorkerLostError as error:
        print(f"showattend: error: {error}", file=sys.stderr)
        return 1
    return 0
