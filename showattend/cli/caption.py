"""`showattend caption` and `showattend visualize`: use a saved model on image files."""
import os

from showattend.cli.options import positive

__all__ = []  # internals of showattend.cli.main; the command line is documented from its parser

BATCH = 32
FIGURE_PIXELS = 512


def add_parser(commands):
    """Add the `caption` and `visualize` subcommands to ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser("caption", help="caption image files with a saved model",
                                 description="Print one caption per image; --plot DIR also writes the "
                                             "per-word attention figures.")
    parser.add_argument("model", help="a model saved with Captioner.save (.keras)")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--beam", type=positive, default=3, help="beam size; 1 is greedy (default: 3)")
    parser.add_argument("--plot", metavar="DIR", help="write attention_<image name>.png figures here")
    parser.set_defaults(run=caption)

    parser = commands.add_parser("visualize", help="draw where a saved model looked for each word of one image",
                                 description="Caption one image and write its per-word attention: a PNG "
                                             "figure (one panel per word) or, for a .gif, an animation "
                                             "that steps through the words.")
    parser.add_argument("model", help="a model saved with Captioner.save (.keras)")
    parser.add_argument("image", help="an image file")
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write: a .png or a .gif")
    parser.add_argument("--beam", type=positive, default=3, help="beam size; 1 is greedy (default: 3)")
    parser.add_argument("--upscale", choices=("gaussian", "bilinear"), default="gaussian",
                        help="how the grid is brought to the image's size (default: gaussian)")
    parser.add_argument("--cols", type=positive, default=5, help="panels per row of the PNG (default: 5)")
    parser.add_argument("--reading", choices=("expectation", "sample", "argmax"), default="expectation",
                        help="for a hard-attention model: read the expectation of α (default), a "
                             "sampled region or the most likely one (boxed in the figure)")
    parser.set_defaults(run=visualize)


def caption(args):
    """Run `showattend caption` with the parsed ``args``: one line per image, figures with ``--plot``."""
    from showattend import load_captioner
    from showattend.data import check_image_file, load_image
    from showattend.visualize import save_attention

    for path in args.images:  # a missing or non-image file is named in milliseconds, before the model loads
        check_image_file(path)
    model = load_captioner(args.model)
    if args.plot:
        os.makedirs(args.plot, exist_ok=True)
    for first in range(0, len(args.images), BATCH):  # a batch of files in memory at a time
        paths = args.images[first:first + BATCH]
        images = [load_image(path, min_size=model.image_size) for path in paths]  # a bad file fails here, named
        captions = model.caption(images, beam_size=args.beam, return_attention=bool(args.plot))
        for path, image, caption in zip(paths, images, captions):
            print(f"{path}\t{caption.text}")
            if args.plot:
                stem = os.path.splitext(os.path.basename(path))[0]
                figure = save_attention(os.path.join(args.plot, f"attention_{stem}.png"), image, caption)
                print(f"  attention: {figure}")


def visualize(args):
    """Run `showattend visualize` with the parsed ``args``: one image's attention as a PNG or a GIF."""
    from showattend import load_captioner
    from showattend.data import check_image_file, load_image
    from showattend.visualize import attention_animation, save_attention

    kind = os.path.splitext(args.out)[1].lower()
    if kind not in (".png", ".gif"):
        raise ValueError(f"--out {args.out!r}: the file must end in .png (a figure) or .gif (an animation).")
    check_image_file(args.image)
    model = load_captioner(args.model)
    # big enough for a figure, and a huge photo is still never decoded at full size
    image = load_image(args.image, min_size=tuple(max(FIGURE_PIXELS, n) for n in model.image_size))
    (caption,) = model.caption(image, beam_size=args.beam, return_attention=True,
                               sample=args.reading == "sample", argmax=args.reading == "argmax")
    print(f"{args.image}\t{caption.text}")
    if kind == ".png":
        path = save_attention(args.out, image, caption, cols=args.cols, upscale=args.upscale)
    else:
        path = attention_animation(image, caption, args.out, upscale=args.upscale)
    print(f"  attention: {path}")
