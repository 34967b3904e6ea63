"""`showattend evaluate`: caption a split, write COCO results JSON, print the caption metrics."""
from showattend.cli.options import add_data, add_split, positive

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `evaluate` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "evaluate", help="caption a data split with a saved model, write COCO results JSON and print the metrics",
        description="Caption every image of a split and write [{\"image_id\", \"caption\"}] (the COCO results "
                    "format) to --out, then print BLEU-1..4, METEOR, ROUGE-L and CIDEr-D (pycocoevalcap); the "
                    "metrics are also written beside it as <out>.metrics.json.")
    parser.add_argument("model", help="a model saved with Captioner.save (.keras)")
    add_data(parser, from_run=True)
    add_split(parser, None, "test, or for data without a test split the val that training held out")
    parser.add_argument("--beam", type=positive, default=3, help="beam size; 1 is greedy (default: 3)")
    parser.add_argument("--batch-size", type=positive, default=32, help="images captioned at once (default: 32)")
    parser.add_argument("--out", required=True, metavar="JSON", help="where to write the results JSON")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend evaluate` with the parsed ``args``."""
    import os

    from showattend import load_captioner
    from showattend.datasets import test_split
    from showattend.evaluation import evaluate_to_files, format_metrics
    from showattend.training import RunFolder

    model = load_captioner(args.model)  # a bad path fails before the data is read
    run = RunFolder(os.path.dirname(os.path.abspath(args.model)))  # the model's run: its split of the data
    split = args.split or test_split(args.data)
    data = run.dataset(args.data, split, images=args.images, val_split=args.val_split, seed=args.seed,
                       on_bad_image=args.on_bad_image)
    print(f"Captioning {len(data):,} images of {args.data} ({split}) with beam {args.beam} …")
    if split == "val" and run.trained_on(args.data):
        print("Note: 'val' is the split that training captioned to choose its best epoch, so these scores are "
              "optimistic; images training never saw (a test split, or --split all on another file) give "
              "unbiased ones.")
    metrics, paths = evaluate_to_files(model, data, args.out, beam_size=args.beam, batch_size=args.batch_size)
    print(format_metrics(metrics))
    print(f"Wrote {paths[0]} and {paths[1]}")
