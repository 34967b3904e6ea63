"""`showattend serve`: the attention viewer as a local web app for saved models."""
from showattend.cli.options import positive, positive_float

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `serve` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "serve", help="a local web page: upload images, read the captions and beams, point at a word to see where "
                      "the model looked",
        description="Load one saved model, or several to compare side by side, and serve the attention viewer: "
                    "choose or drop image files, pick a beam size and a model, and hover the caption's words. "
                    "The page loads nothing from the internet. Ctrl-C stops it.")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="one or more saved models (.keras)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for every "
                             "interface)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default: 8000; 0: any free port)")
    parser.add_argument("--max-upload-mb", type=positive_float, default=20.0,
                        help="the largest upload in megabytes, all of one request's files (default: 20)")
    parser.add_argument("--max-batch", type=positive, default=16,
                        help="the most images captioned at once, gathered from all requests (default: 16)")
    parser.add_argument("--upscale", choices=("gaussian", "bilinear"), default="gaussian",
                        help="how a word's grid is brought to the image's size (default: gaussian)")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend serve` with the parsed ``args``: until Ctrl-C or SIGTERM."""
    from werkzeug.serving import make_server

    from showattend.saving import load_captioner
    from showattend.serving import labels_of, make_app

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0..65535, got {args.port}.")
    for path in args.models:
        if not path.endswith(".keras"):
            raise ValueError(f"showattend serve takes saved models (.keras); {path!r} is not one.")
    app = make_app([load_captioner(path) for path in args.models], labels_of(args.models),
                   max_upload_mb=args.max_upload_mb, upscale=args.upscale, max_batch=args.max_batch)
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as error:
        raise ValueError(f"Cannot listen on {args.host}:{args.port}: {error.strerror or error}. "
                         "Choose another --port (0: any free one).") from None
    print(f"Serving {', '.join(labels_of(args.models))} at http://{args.host}:{server.server_port}/ "
          "(Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl-C, and on SIGTERM (showattend.signals.Terminated)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for batcher in app.batchers:
            batcher.close()
    print("Stopped serving.", flush=True)
