"""`showattend tune`: search backbones and decoder with keras-tuner; summarize or export a search."""
import argparse
import json

from showattend.cli.options import image_size, positive, progress_verbosity
from showattend.decoders import list_decoders

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def fixed_value(text):
    """NAME=VALUE → (name, value); the value read as JSON where it can be (64, 0.5, true), else as text."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, e.g. units=128, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def add_parser(commands):
    """Add the `tune` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "tune", help="search backbones and decoder settings with keras-tuner (val BLEU-4 or CIDEr-D)",
        description="Search captioners with keras-tuner. Every trial trains on the training split and is scored "
                    "each epoch by free-running validation BLEU-4 (or CIDEr-D); the trial keeps its best epoch. "
                    "Rerun the same command to resume. --summary DIR prints the results; --export DIR FILE saves "
                    "the best model.")
    parser.add_argument("--summary", metavar="DIR", help="print the results table of the search in DIR and write "
                                                         "its results.csv and search.png")
    parser.add_argument("--export", nargs=2, metavar=("DIR", "FILE"), help="save the best model of the search in "
                                                                           "DIR to FILE (.keras)")
    parser.add_argument("--retrain", action="store_true", help="with --export: retrain the best settings on "
                                                               "train+val first")
    data = parser.add_argument_group("search")
    data.add_argument("--data", metavar="SPEC", help="karpathy:JSON, coco:JSON, flickr:TOKEN_FILE, folder:CSV, "
                                                     "tfds:NAME or shapes (needs no --images)")
    data.add_argument("--images", metavar="DIR", help="the folder the data's image paths are relative to")
    data.add_argument("--val-split", type=float, default=0.1, help="validation share for data without splits")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--on-bad-image", choices=("error", "skip"), default="error")
    data.add_argument("--backbones", default="small_vgg", help="comma-separated, e.g. vgg16,resnet50 (default: "
                                                                "small_vgg)")
    data.add_argument("--decoders", default="lstm", help=f"comma-separated, of {', '.join(list_decoders())} "
                                                         "(default: lstm)")
    data.add_argument("--image-size", type=image_size, help="e.g. 224 (default: the first backbone's)")
    data.add_argument("--algorithm", choices=("hyperband", "bayesian", "random"), default="hyperband")
    data.add_argument("--max-epochs", type=positive, default=10, help="epochs of a full trial (default: 10)")
    data.add_argument("--max-trials", type=positive, help="trials for bayesian and random (default: 10)")
    data.add_argument("--factor", type=positive, default=3, help="Hyperband's reduction factor (default: 3)")
    data.add_argument("--objective", choices=("bleu4", "cider"), default="bleu4")
    data.add_argument("--directory", default="tuning", help="the search's folder (default: tuning)")
    data.add_argument("--project-name", default="search")
    data.add_argument("--overwrite", action="store_true", help="start anew instead of resuming")
    data.add_argument("--time-budget", help="e.g. 45m or 2h: no trial starts after it")
    data.add_argument("--batch-size", type=positive, default=64, help="captions per batch (default: 64)")
    data.add_argument("--val-images", type=positive, default=200, help="validation images scored each epoch")
    data.add_argument("--set", type=fixed_value, action="append", default=[], metavar="NAME=VALUE",
                      help="pin a hyperparameter, e.g. --set units=128 --set attention=soft (repeatable)")
    data.add_argument("--mixed-precision", choices=("mixed_float16", "mixed_bfloat16"))
    data.add_argument("--feature-dir", help="feature caches of frozen pretrained backbones (default: "
                                            "DIR/PROJECT/features)")
    data.add_argument("--gpus", help="e.g. 0,1: a chief on the CPU and one worker process per GPU")
    data.add_argument("--strategy", choices=("mirrored",), help="run each trial across all visible GPUs")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend tune` with the parsed ``args``."""
    from showattend.tuning.session import open_search, summarize, tune

    if args.summary:
        summarize(open_search(args.summary, args.project_name)[0])
        return
    if args.export:
        from showattend.tuning.report import export_best

        tuner, train, val = open_search(args.export[0], args.project_name)
        export_best(tuner, args.export[1], retrain=args.retrain, train=train, validation_data=val)
        return
    if not args.data:
        raise ValueError("showattend tune needs --data SPEC (or --summary DIR, or --export DIR FILE).")
    if args.gpus:
        return _distributed(args)
    tune(args.directory, args.data, images=args.images, backbones=args.backbones.split(","),
         decoders=args.decoders.split(","),
         algorithm=args.algorithm, max_epochs=args.max_epochs, max_trials=args.max_trials, factor=args.factor,
         objective=args.objective, project_name=args.project_name, overwrite=args.overwrite,
         time_budget=args.time_budget, image_size=args.image_size, batch_size=args.batch_size,
         val_images=args.val_images, val_split=args.val_split, seed=args.seed, mixed_precision=args.mixed_precision,
         strategy=args.strategy, fixed=dict(args.set), feature_dir=args.feature_dir, on_bad_image=args.on_bad_image,
         verbose=progress_verbosity())


def _distributed(args):
    import os

    from showattend.tuning.workers import launch, parse_gpus

    gpus = parse_gpus(args.gpus)
    argv = args.argv
    command = [a for i, a in enumerate(argv) if a != "--gpus" and (i == 0 or argv[i - 1] != "--gpus")
               and not a.startswith("--gpus=")]  # each process runs this same command, without --gpus
    codes = launch(command, gpus, os.path.join(args.directory, args.project_name, "logs"))
    failed = {role: code for role, code in codes.items() if code}
    if failed:
        raise ValueError(f"Search processes failed: {failed}; see their logs in "
                         f"{os.path.join(args.directory, args.project_name, 'logs')}.")
    from showattend.tuning.session import open_search, summarize

    summarize(open_search(args.directory, args.project_name)[0])
