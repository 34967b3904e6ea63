"""`showattend evaluate`: caption a split, write COCO results JSON, print the caption metrics."""
from showattend.cli.options import add_data, add_split, positive


def add_parser(commands):
    parser = commands.add_parser(
        "evaluate", help="caption a data split with a saved model, write COCO results JSON and print the metrics",
        description="Caption every image of a split and write [{\"image_id\", \"caption\"}] (the COCO results "
                    "format) to --out, then print BLEU-1..4, METEOR, ROUGE-L and CIDEr-D (pycocoevalcap); the "
                    "metrics are also written beside it as <out>.metrics.json.")
    parser.add_argument("model", help="a model saved with Captioner.save (.keras)")
    add_data(parser)
    add_split(parser, None, "test, or for data without a test split the val that training held out")
    parser.add_argument("--beam", type=positive, default=3, help="beam size; 1 is greedy (default: 3)")
    parser.add_argument("--batch-size", type=positive, default=32, help="images captioned at once (default: 32)")
    parser.add_argument("--out", required=True, metavar="JSON", help="where to write the results JSON")
    parser.set_defaults(run=run)


def run(args):
    from showattend import load_captioner
    from showattend.datasets import load, test_split
    from showattend.evaluation import evaluate_to_files, format_metrics

    model = load_captioner(args.model)  # a bad path fails before the data is read
    args.split = args.split or test_split(args.data)
    data = load(args.data, args.split, images=args.images, val_split=args.val_split, seed=args.seed,
                on_bad_image=args.on_bad_image)
    print(f"Captioning {len(data):,} images of {args.data} ({args.split}) with beam {args.beam} …")
    metrics, paths = evaluate_to_files(model, data, args.out, beam_size=args.beam, batch_size=args.batch_size)
    print(format_metrics(metrics))
    print(f"Wrote {paths[0]} and {paths[1]}")
