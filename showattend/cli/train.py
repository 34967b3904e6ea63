"""`showattend train`: train a captioner on real data and keep its best epoch."""
from showattend.cli.decoder_flags import add_decoder_flags, decoder_options
from showattend.cli.options import add_data, image_size, positive, positive_float, progress_verbosity

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `train` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "train", help="train a captioner on COCO, Flickr, tfds or your own folder; keeps the best epoch",
        description="Train a captioner and write RUN/model.keras (the epoch with the best free-running "
                    "validation BLEU-4), history.csv, curves.png, vocabulary.json and config.json. Run the same "
                    "command again after an interruption and it resumes.")
    add_data(parser)
    parser.add_argument("--out", required=True, metavar="RUN", help="the run's folder")
    parser.add_argument("--backbone", required=True, metavar="NAME", help="a registered backbone, e.g. vgg19, "
                        "resnet50, small_vgg, or hub:PRESET for a keras-hub preset (a name or a local preset folder)")
    parser.add_argument("--weights", help="'imagenet' or a weights file; freezes the backbone unless --fine-tune "
                        "(a hub:PRESET has its preset's weights, frozen unless --fine-tune)")
    parser.add_argument("--fine-tune", action="store_true", help="train pretrained backbone weights too")
    parser.add_argument("--image-size", type=image_size, help="e.g. 224 or 256x256 (default: the backbone's)")
    parser.add_argument("--cache-features", action="store_true",
                        help="run the frozen backbone once per image into a feature cache and train from it")
    parser.add_argument("--feature-dir", metavar="DIR", help="the feature cache's folder (default: RUN/features)")
    parser.add_argument("--epochs", type=positive, default=20, help="training epochs (default: 20)")
    parser.add_argument("--batch-size", type=positive, default=64, help="captions per batch (default: 64)")
    text = parser.add_argument_group("text")
    text.add_argument("--max-length", type=positive, help="cut captions at this many words (default: 20; "
                                                          "30 for shapes)")
    text.add_argument("--min-count", type=positive, help="keep words seen at least this often (default: 5; 1 for "
                                                         "shapes)")
    text.add_argument("--max-vocab", type=positive, default=10000, help="most words kept (default: 10000)")
    add_decoder_flags(parser)
    recipe = parser.add_argument_group("optimisation")
    recipe.add_argument("--lr", type=positive_float, default=4e-4, help="peak learning rate of Adam (default: 4e-4)")
    recipe.add_argument("--schedule", choices=("cosine", "constant", "plateau"), default="cosine",
                        help="learning-rate schedule (default: cosine, after a half-epoch warm-up)")
    recipe.add_argument("--clipnorm", type=positive_float, default=5.0, help="global gradient-norm clip (default: 5)")
    recipe.add_argument("--val-images", type=positive, default=500,
                        help="validation images captioned every epoch for BLEU-4 (default: 500)")
    recipe.add_argument("--patience", type=positive, help="stop after this many epochs without a better val BLEU-4")
    parser.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs (scalars and attention figures)")
    parser.add_argument("--multi-worker", action="store_true",
                        help="train on several hosts: run the same command on each, with TF_CONFIG naming the cluster "
                             "and the host's task; the chief (worker 0) validates and writes RUN, the others nothing")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend train` with the parsed ``args``."""
    from showattend.training import Recipe, train

    recipe = Recipe(learning_rate=args.lr, schedule=args.schedule, clipnorm=args.clipnorm, val_images=args.val_images,
                    early_stopping=args.patience)
    decoder, options = decoder_options(args)
    model = {"decoder": decoder, **options}
    train(args.out, args.data, images=args.images, backbone=args.backbone, weights=args.weights,
          image_size=args.image_size, fine_tune=args.fine_tune, cache_features=args.cache_features,
          feature_dir=args.feature_dir, epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length,
          min_count=args.min_count, max_vocab=args.max_vocab, val_split=args.val_split, seed=args.seed,
          recipe=recipe, model=model, tensorboard=args.tensorboard, on_bad_image=args.on_bad_image,
          multi_worker=args.multi_worker, verbose=progress_verbosity())
