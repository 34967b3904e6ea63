"""`showattend demo`: train, evaluate and visualise a captioner on the built-in shapes data."""
from showattend.cli.options import positive, progress_verbosity
from showattend.decoders import decoder_option, list_decoders

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `demo` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    demo = commands.add_parser("demo", help="train, evaluate and visualise a captioner on the built-in shapes data",
                               description="Train a captioner (a soft- or hard-attention LSTM, or a Transformer) on "
                                           "the built-in shapes data, "
                                           "print its metrics and write the model, metrics, captions and "
                                           "attention figures to --out.")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--num-images", type=positive, default=2500, help="training images (default: 2500)")
    demo.add_argument("--epochs", type=positive, default=None, help="training epochs (default: the demo recipe's)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--decoder", choices=list_decoders(), default="lstm",
                      help="the decoder: the paper's LSTM or a Transformer (default: lstm)")
    attention = decoder_option("attention", "lstm")
    demo.add_argument("--attention", choices=attention.choices, default=None,
                      help=f"the LSTM's attention: {attention.help} (default: {attention.default})")
    demo.set_defaults(run=run)


def run(args):
    """Run `showattend demo` with the parsed ``args``."""
    from showattend.demo import run_demo

    options = {"epochs": args.epochs} if args.epochs else {}
    if args.attention is not None:
        if args.decoder != "lstm":
            raise ValueError(f"--attention is an option of the LSTM decoder, not of {args.decoder}; drop it or "
                             "choose --decoder lstm.")
        options["attention"] = args.attention
    run_demo(args.out, num_images=args.num_images, seed=args.seed, decoder=args.decoder,
             verbose=progress_verbosity(), **options)
