"""`showattend demo`: train, evaluate and visualise a captioner on the built-in shapes data."""
from showattend.cli.options import positive, progress_verbosity
from showattend.decoders import decoder_option

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `demo` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    demo = commands.add_parser("demo", help="train, evaluate and visualise a captioner on the built-in shapes data",
                               description="Train a soft- or hard-attention captioner on the built-in shapes data, "
                                           "print its metrics and write the model, metrics, captions and "
                                           "attention figures to --out.")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--num-images", type=positive, default=2500, help="training images (default: 2500)")
    demo.add_argument("--epochs", type=positive, default=None, help="training epochs (default: the demo recipe's)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    attention = decoder_option("attention", "lstm")
    demo.add_argument("--attention", choices=attention.choices, default=attention.default,
                      help=f"{attention.help} (default: {attention.default})")
    demo.set_defaults(run=run)


def run(args):
    """Run `showattend demo` with the parsed ``args``."""
    from showattend.demo import run_demo

    options = {"epochs": args.epochs} if args.epochs else {}
    run_demo(args.out, num_images=args.num_images, seed=args.seed, attention=args.attention,
             verbose=progress_verbosity(), **options)
