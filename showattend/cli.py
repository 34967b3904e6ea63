"""The `showattend` command: parses arguments, calls the library, prints. No logic of its own."""
import argparse
import os
import sys


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _parser():
    parser = argparse.ArgumentParser(prog="showattend", description='"Show, Attend and Tell" image captioning.')
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train, evaluate and visualise a captioner on the built-in shapes data",
                               description="Train a soft- or hard-attention captioner on the built-in shapes data, "
                                           "print its metrics and write the model, metrics, captions and "
                                           "attention figures to --out.")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--num-images", type=_positive, default=2500, help="training images (default: 2500)")
    demo.add_argument("--epochs", type=_positive, default=6, help="training epochs (default: 6)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--attention", choices=("soft", "hard"), default="soft",
                      help="soft (deterministic) or hard (sampled, REINFORCE-trained) attention (default: soft)")

    caption = commands.add_parser("caption", help="caption image files with a saved model",
                                  description="Print one caption per image; --plot DIR also writes the "
                                              "per-word attention figures.")
    caption.add_argument("model", help="a model saved with Captioner.save (.keras)")
    caption.add_argument("images", nargs="+", help="image files")
    caption.add_argument("--beam", type=_positive, default=3, help="beam size; 1 is greedy (default: 3)")
    caption.add_argument("--plot", metavar="DIR", help="write attention_<image name>.png figures here")

    visualize = commands.add_parser("visualize", help="draw where a saved model looked for each word of one image",
                                    description="Caption one image and write its per-word attention: a PNG "
                                                "figure (one panel per word) or, for a .gif, an animation "
                                                "that steps through the words.")
    visualize.add_argument("model", help="a model saved with Captioner.save (.keras)")
    visualize.add_argument("image", help="an image file")
    visualize.add_argument("--out", required=True, metavar="FILE", help="where to write: a .png or a .gif")
    visualize.add_argument("--beam", type=_positive, default=3, help="beam size; 1 is greedy (default: 3)")
    visualize.add_argument("--upscale", choices=("gaussian", "bilinear"), default="gaussian",
                           help="how the grid is brought to the image's size (default: gaussian)")
    visualize.add_argument("--cols", type=_positive, default=5, help="panels per row of the PNG (default: 5)")
    visualize.add_argument("--reading", choices=("expectation", "sample", "argmax"), default="expectation",
                           help="for a hard-attention model: read the expectation of α (default), a "
                                "sampled region or the most likely one (boxed in the figure)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from showattend.demo import run_demo

            run_demo(args.out, num_images=args.num_images, epochs=args.epochs, seed=args.seed,
                     attention=args.attention)
        elif args.command == "caption":
            _caption(args)
        elif args.command == "visualize":
            _visualize(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"showattend: error: {error}", file=sys.stderr)
        return 2
    return 0


def _caption(args):
    from showattend import load_captioner
    from showattend.data import load_image
    from showattend.visualize import save_attention

    images = [load_image(path) for path in args.images]  # a bad file fails here, named
    model = load_captioner(args.model)
    captions = model.caption(images, beam_size=args.beam, return_attention=bool(args.plot))
    if args.plot:
        os.makedirs(args.plot, exist_ok=True)
    for path, image, caption in zip(args.images, images, captions):
        print(f"{path}\t{caption.text}")
        if args.plot:
            stem = os.path.splitext(os.path.basename(path))[0]
            print(f"  attention: {save_attention(os.path.join(args.plot, f'attention_{stem}.png'), image, caption)}")


def _visualize(args):
    from showattend import load_captioner
    from showattend.data import load_image
    from showattend.visualize import attention_animation, save_attention

    kind = os.path.splitext(args.out)[1].lower()
    if kind not in (".png", ".gif"):
        raise ValueError(f"--out {args.out!r}: the file must end in .png (a figure) or .gif (an animation).")
    image = load_image(args.image)
    model = load_captioner(args.model)
    (caption,) = model.caption(image, beam_size=args.beam, return_attention=True,
                               sample=args.reading == "sample", argmax=args.reading == "argmax")
    print(f"{args.image}\t{caption.text}")
    if kind == ".png":
        path = save_attention(args.out, image, caption, cols=args.cols, upscale=args.upscale)
    else:
        path = attention_animation(image, caption, args.out, upscale=args.upscale)
    print(f"  attention: {path}")


if __name__ == "__main__":
    sys.exit(main())
