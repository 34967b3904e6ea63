"""The `showattend` command: parses arguments, calls the library, prints. No logic of its own.

Each subcommand is a module with ``add_parser(commands)`` and ``run(args)``.
"""
import argparse
import signal
import sys

from showattend.cli import caption, demo, evaluate, features, train, tune
from showattend.files import DiskFullError
from showattend.signals import Terminated, handle_signals


def _parser():
    parser = argparse.ArgumentParser(prog="showattend", description='"Show, Attend and Tell" image captioning.')
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (demo, train, evaluate, features, caption, tune):
        module.add_parser(commands)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    try:
        with handle_signals():  # Ctrl-C and SIGTERM stop between two batches
            args.run(args)
    except (FileNotFoundError, FileExistsError, ValueError, DiskFullError) as error:
        print(f"showattend: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print(f"showattend: {'terminated (SIGTERM)' if terminated else 'interrupted'}; run the same command again "
              "to resume.", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    return 0
