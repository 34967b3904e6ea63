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


if __name__ == "__main__":
    sys.exit(main())
