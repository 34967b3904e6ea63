"""Decoders by name: the interface (``Decoder``), their declared options, and the registry that
``Captioner(decoder="lstm", ...)``, the tuner and the command line read.

Examples:
    >>> list_decoders()
    ['lstm', 'transformer']
    >>> decoder = make_decoder("lstm", vocab_size=30, units=32, attention="hard")
    >>> type(decoder).__name__, decoder.options["units"], decoder.readings
    ('LSTMDecoder', 32, ('expectation', 'sample', 'argmax'))
    >>> make_decoder("gpt", vocab_size=30)
    Traceback (most recent call last):
    ValueError: Unknown decoder 'gpt'. Accepted: lstm, transformer.
"""
from showattend.decoders.base import Decoder
from showattend.decoders.lstm import LSTMDecoder
from showattend.decoders.lstm_options import LSTM_OPTIONS
from showattend.decoders.options import Option, paper_values
from showattend.decoders.transformer import TransformerDecoder
from showattend.decoders.transformer_options import TRANSFORMER_OPTIONS

__all__ = ["Decoder", "LSTMDecoder", "Option", "TransformerDecoder", "decoder_class", "decoder_option", "list_decoders", "make_decoder",
           "paper_config", "register_decoder"]

_DECODERS = {}


def register_decoder(cls):
    """Register a ``Decoder`` subclass under its ``registered_name`` (usable as a class decorator).

    Args:
        cls: the class; its ``registered_name`` is the name users pass, e.g. "lstm".

    Returns:
        ``cls``.

    Raises:
        ValueError: a class that is not a Decoder, has no name, or a name already taken.

    Examples:
        >>> register_decoder(LSTMDecoder) is LSTMDecoder  # registering it again changes nothing
        True
        >>> register_decoder(dict)
        Traceback (most recent call last):
        ValueError: A decoder must subclass showattend.decoders.Decoder and set registered_name; got <class 'dict'>.
    """
    if not (isinstance(cls, type) and issubclass(cls, Decoder)) or not cls.registered_name:
        raise ValueError(f"A decoder must subclass showattend.decoders.Decoder and set registered_name; got {cls!r}.")
    if _DECODERS.get(cls.registered_name, cls) is not cls:
        raise ValueError(f"A decoder named {cls.registered_name!r} is already registered.")
    _DECODERS[cls.registered_name] = cls
    return cls


register_decoder(LSTMDecoder)
register_decoder(TransformerDecoder)


def list_decoders():
    """The registered decoders' names.

    Returns:
        A list of names, in registration order.

    Examples:
        >>> "lstm" in list_decoders()
        True
    """
    return list(_DECODERS)


def decoder_class(name):
    """The class registered under ``name``.

    Args:
        name: a registered decoder, e.g. "lstm".

    Returns:
        The ``Decoder`` subclass.

    Raises:
        ValueError: an unknown name (naming those registered).

    Examples:
        >>> decoder_class("lstm").__name__
        'LSTMDecoder'
    """
    if name not in _DECODERS:
        raise ValueError(f"Unknown decoder {name!r}. Accepted: {', '.join(_DECODERS)}.")
    return _DECODERS[name]


def make_decoder(name, vocab_size, seed=None, **options):
    """A decoder by name, with its options.

    Args:
        name: a registered decoder, e.g. "lstm".
        vocab_size: the number of words.
        seed: seeds its dropout and sampling.
        **options: its declared options (``decoder_class(name).OPTIONS``) and Keras layer
            arguments (``name``, ``dtype``).

    Returns:
        The decoder (not built).

    Raises:
        ValueError: an unknown decoder or option, or a bad value.

    Examples:
        >>> make_decoder("lstm", vocab_size=30, units=32).options["units"]
        32
    """
    return decoder_class(name)(vocab_size, seed=seed, **options)


def paper_config(name="lstm"):
    """The paper's configuration of a decoder's options (REFERENCE.md for the LSTM).

    Args:
        name: a registered decoder.

    Returns:
        ``{option: value}`` for every declared option.

    Examples:
        >>> config = paper_config("lstm")
        >>> config["units"], config["embed_dim"], config["attention_dim"], config["dropout"], config["attention"]
        (512, 512, 512, 0.5, 'soft')
    """
    return paper_values(decoder_class(name).OPTIONS)


def decoder_option(name, decoder="lstm"):
    """A decoder's declaration of one option.

    Args:
        name: the option, e.g. "attention".
        decoder: a registered decoder.

    Returns:
        The ``Option``.

    Raises:
        ValueError: an option the decoder does not declare (naming those it does).

    Examples:
        >>> decoder_option("attention").choices
        ('soft', 'hard')
    """
    options = {option.name: option for option in decoder_class(decoder).OPTIONS}
    if name not in options:
        raise ValueError(f"The {decoder} decoder has no option {name!r}. Its options: {', '.join(options)}.")
    return options[name]


__all__ += ["LSTM_OPTIONS", "TRANSFORMER_OPTIONS"]
