"""`showattend report`: the interactive attention view of saved models on image files, as one HTML file."""
from showattend.cli.options import positive

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `report` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "report", help="write one self-contained HTML page: each image's caption, its other beams, and where the "
                       "model looked for each word",
        description="Caption image files with one saved model, or several side by side, and write one HTML file "
                    "with everything inlined (it opens offline): hover a word, or click a caption and use the "
                    "arrow keys, to see that word's attention over the image.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="one or more models (.keras) first, then the image files")
    parser.add_argument("--out", required=True, metavar="HTML", help="the page to write, e.g. report.html")
    parser.add_argument("--beam", type=positive, default=3, help="beam size; the other beams are listed (default: 3)")
    parser.add_argument("--upscale", choices=("gaussian", "bilinear"), default="gaussian",
                        help="how a word's grid is brought to the image's size (default: gaussian)")
    parser.add_argument("--title", help="the page's heading (default: showattend report)")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend report` with the parsed ``args``."""
    from showattend.data import check_image_file
    from showattend.html_view import html_report

    models = []
    for name in args.files:
        if not name.endswith(".keras"):
            break
        models.append(name)
    images = args.files[len(models):]
    if not models:
        raise ValueError(f"showattend report takes the model files (.keras) first, then the images; "
                         f"{args.files[0]!r} is not a .keras file.")
    if not images:
        raise ValueError(f"No image files after the model{'s' if len(models) > 1 else ''} {', '.join(models)}: "
                         "give at least one.")
    for path in images:  # named in milliseconds, before any model loads
        check_image_file(path)
    html_report(args.out, images, models, beam_size=args.beam, upscale=args.upscale, title=args.title)
    print(f"Wrote {args.out}: {len(images)} image{'s' if len(images) > 1 else ''} × {len(models)} "
          f"model{'s' if len(models) > 1 else ''}")
