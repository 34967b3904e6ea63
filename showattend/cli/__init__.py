"""The `showattend` command: parses arguments, calls the library, prints. No logic of its own.

Each subcommand is a module with ``add_parser(commands)`` and ``run(args)``.
"""
import argparse
import sys

from showattend.cli import caption, demo, evaluate, features, train, tune


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
        args.run(args)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"showattend: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("showattend: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    return 0
