"""The decoder's flags, read from its declared options (``showattend.decoders``): one flag per
option, with its type, choices and help, so that the command line never lists a choice itself."""
import argparse

__all__ = []  # the subcommands' own helpers; the command line is documented from the parsers


def _flag(name):
    return "--" + name.replace("_", "-")


def _type(option):
    def parse(text):
        try:
            return option.check(option.kind(text))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = option.kind.__name__  # argparse names the type in its errors
    return parse


def add_decoder_flags(parser, defaults="paper"):
    """Add ``--decoder`` and a flag per option of every registered decoder to ``parser``.

    A flag left out takes the chosen decoder's value: its paper's (``defaults="paper"``) or its
    constructor's (``"default"``); ``decoder_options`` collects them after parsing.
    """
    from showattend.decoders import decoder_class, list_decoders

    group = parser.add_argument_group(f"decoder (defaults: the {'paper' if defaults == 'paper' else 'decoder'}'s)")
    group.add_argument("--decoder", choices=list_decoders(), default=list_decoders()[0],
                       help=f"the decoder (default: {list_decoders()[0]})")
    seen = set()
    for decoder in list_decoders():
        for option in decoder_class(decoder).OPTIONS:
            if option.name in seen:
                continue
            seen.add(option.name)
            value = option.paper if defaults == "paper" else option.default
            if option.kind is bool:
                group.add_argument(_flag(option.name), action=argparse.BooleanOptionalAction, default=None,
                                   help=f"{option.help} (default: {'on' if value else 'off'})")
            else:
                group.add_argument(_flag(option.name), type=_type(option), choices=option.choices, default=None,
                                   metavar=None if option.choices else option.kind.__name__.upper(),
                                   help=f"{option.help} (default: {value})")
    parser.set_defaults(decoder_defaults=defaults)


def decoder_options(args):
    """The chosen decoder's options from parsed ``args``: the flags given, over its defaults.

    Returns:
        ``(decoder, options)``: the decoder's name and ``{option: value}``.

    Raises:
        ValueError: a flag of another decoder's option, given for this one.
    """
    from showattend.decoders import decoder_class, list_decoders

    cls = decoder_class(args.decoder)
    own = {option.name for option in cls.OPTIONS}
    for decoder in list_decoders():
        for option in decoder_class(decoder).OPTIONS:
            if option.name not in own and getattr(args, option.name) is not None:
                raise ValueError(f"{_flag(option.name)} is an option of the {decoder} decoder, not of "
                                 f"{args.decoder}; drop it or choose --decoder {decoder}.")
    values = {option.name: option.paper if args.decoder_defaults == "paper" else option.default
              for option in cls.OPTIONS}
    values.update({name: getattr(args, name) for name in own if getattr(args, name) is not None})
    return args.decoder, values
