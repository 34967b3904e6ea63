"""`showattend features`: run a frozen backbone once per image into a feature cache."""
from showattend.cli.options import add_data, add_split, image_size, positive

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser


def add_parser(commands):
    """Add the `features` subcommand to ``commands`` (argparse's subparsers), its ``run`` the default."""
    parser = commands.add_parser(
        "features", help="cache a frozen backbone's features of every image, for training from them",
        description="Run the backbone once per image and store its grids as float16 shards in --out. A killed "
                    "run resumes from its complete shards; a cache made with another backbone, weights, image "
                    "size or preprocessing is refused. `showattend train --cache-features --feature-dir DIR` "
                    "then trains from it.")
    add_data(parser)
    add_split(parser, "all")
    parser.add_argument("--backbone", required=True, metavar="NAME", help="a registered backbone, e.g. vgg19, or "
                        "hub:PRESET")
    parser.add_argument("--weights", help="'imagenet' or a weights file (default: random weights; a hub:PRESET's own)")
    parser.add_argument("--image-size", type=image_size, help="e.g. 224 or 256x256 (default: the backbone's)")
    parser.add_argument("--batch-size", type=positive, default=32, help="images per forward pass (default: 32)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the cache's folder")
    parser.set_defaults(run=run)


def run(args):
    """Run `showattend features` with the parsed ``args``."""
    import keras

    import cnn_backbones
    from showattend.datasets import load
    from showattend.features import FeatureCache

    import os

    from showattend.features import CACHE_FILE

    if args.data.split(":")[0] == "shapes":
        raise ValueError("--data shapes: the built-in shapes images are drawn in memory, not read from files, so "
                         "there is nothing to cache; train on them directly (showattend train --data shapes, "
                         "without --cache-features).")
    if os.path.isfile(os.path.join(args.out, CACHE_FILE)):
        print(f"Resuming the feature cache in {args.out}: {len(FeatureCache(args.out)):,} images already cached; "
              "the others are extracted now.")
    data = load(args.data, args.split, images=args.images, val_split=args.val_split, seed=args.seed,
                on_bad_image=args.on_bad_image)
    size = args.image_size or cnn_backbones.backbone_info(args.backbone).default_input_shape[:2]
    keras.utils.set_random_seed(args.seed)  # random weights as `train --seed` makes them, so it reuses the cache
    backbone = cnn_backbones.create_backbone(args.backbone, input_shape=(*size, 3), weights=args.weights,
                                             trainable=False)
    print(f"Caching {args.backbone} features ({size[0]}×{size[1]} → {tuple(backbone.output_shape[1:])}) of "
          f"{len(data):,} images into {args.out}")
    cache = FeatureCache.build(args.out, backbone, data.images, weights=args.weights, batch_size=args.batch_size,
                               shard_size=16 * args.batch_size, on_bad_image=args.on_bad_image)
    print(f"{args.out} holds {len(cache):,} images ({len(cache.bad)} unreadable)")
