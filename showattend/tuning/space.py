"""The captioner's search space: stable hyperparameter names, sensible ranges, conditional per-backbone
options, and the rule that turns an argument (None, a value, a HyperParameter) into a declaration."""
import keras_tuner as kt

import cnn_backbones

MIN_GRID = 4  # a backbone whose grid would be smaller than 4×4 at the image size is left out of the space

LEARNING_RATE = ("Float", {"min_value": 1e-4, "max_value": 1e-2, "sampling": "log"}, 4e-4)  # the recipe's


def decoder_space(decoder="lstm"):
    """The search space of a decoder's options, read from its declarations (``Option.tune``).

    Args:
        decoder: a registered decoder.

    Returns:
        A pair of dicts ``name: (kind, arguments, default)``: the options searched always, then
        those searched only under a condition (``Option.when``, e.g. hard attention's weights), as a
        dict ``(option, values): {name: …}``. A choice's values default to the option's choices;
        the default is the paper's value.

    Examples:
        >>> always, conditional = decoder_space("lstm")
        >>> always["attention"], always["units"][2]
        (('Choice', {'values': ['soft', 'hard']}, 'soft'), 512)
        >>> list(conditional)
        [('attention', ('hard',))]
    """
    from showattend.decoders import decoder_class

    always, conditional = {}, {}
    for option in decoder_class(decoder).OPTIONS:
        if option.tune is None:
            continue
        kind, arguments = option.tune
        if kind == "Choice" and "values" not in arguments:
            arguments = {"values": list(option.choices)}
        target = always if option.when is None else conditional.setdefault(option.when, {})
        target[option.name] = (kind, dict(arguments), option.paper)
    return always, conditional


BACKBONE_SPACE = {
    "feature_stage": ("Choice", {"values": [5, 4]}, 5),  # ResNet: stage 5 (stride 32) or 4 (stride 16)
    "feature_module": ("Choice", {"values": ["5b", "4e"]}, "5b"),  # GoogLeNet: 7×7 or 14×14 at 224 px
    "pretrained": ("Boolean", {}, True),
    "fine_tune": ("Boolean", {}, False),
    "gate_bias": ("Float", {"min_value": -4.0, "max_value": -1.0, "step": 0.5}, -2.0),  # highway
}


def space_names(decoders=None):
    """The names of the search space, in the order a search declares them.

    The backbone and its options, then each decoder's searched options (those it always has), the
    learning rate, and the options it has under a condition (hard attention's weights).

    Args:
        decoders: the decoders searched over (default: every registered one).

    Returns:
        A tuple of names, each once.

    Examples:
        >>> space_names(["lstm"])[:3], space_names(["lstm"])[-3:]
        (('backbone', 'feature_stage', 'feature_module'), ('learning_rate', 'reinforce_weight', 'entropy_weight'))
    """
    from showattend.decoders import list_decoders

    names = ["backbone", *BACKBONE_SPACE]
    for decoder in decoders or list_decoders():
        always, conditional = decoder_space(decoder)
        names += [*always, "learning_rate", *(name for space in conditional.values() for name in space)]
    return tuple(dict.fromkeys(names))


NAMES = space_names()  # every name a CaptionHyperModel takes (its backbone's and every decoder's)


def space_of(name):
    """The default range of a name of the space (a decoder's: the first decoder that declares it).

    Args:
        name: a name of the space, e.g. "units".

    Returns:
        ``(kind, arguments, default)``: the keras-tuner method, its arguments and the default.

    Raises:
        KeyError: a name the space does not have.

    Examples:
        >>> space_of("units")
        ('Choice', {'values': [128, 256, 512, 1024]}, 512)
        >>> space_of("learning_rate")[2]
        0.0004
    """
    from showattend.decoders import list_decoders

    if name in BACKBONE_SPACE:
        return BACKBONE_SPACE[name]
    if name == "learning_rate":
        return LEARNING_RATE
    for decoder in list_decoders():
        always, conditional = decoder_space(decoder)
        for space in (always, *conditional.values()):
            if name in space:
                return space[name]
    raise KeyError(name)


def option_of(name, option):
    """Whether backbone ``name``'s builder takes ``option``.

    Args:
        name: A registered backbone, e.g. "resnet50".
        option: A per-backbone option of the space: "feature_stage" (ResNets), "feature_module"
            (GoogLeNets) or "gate_bias" (highway nets).

    Returns:
        True when ``cnn_backbones.create_backbone(name, …)`` takes ``option``.

    Examples:

        >>> option_of("resnet50", "feature_stage"), option_of("small_vgg", "feature_stage")
        (True, False)
        >>> option_of("highway11", "gate_bias")
        True
    """
    return option in cnn_backbones.backbone_options(name)


def grid_size(name, image_size, feature_stage=5, feature_module="5b"):
    """The feature grid (h, w) of backbone ``name`` at ``image_size``, from its stride.

    Nothing is built. ``feature_stage=4`` (ResNets) and ``feature_module="4e"`` (GoogLeNets) halve
    the stride; backbones without the option ignore it.

    Args:
        name: A registered backbone.
        image_size: The input's (height, width) in pixels.
        feature_stage: The ResNet stage the features come from: 5 (stride 32) or 4 (stride 16).
        feature_module: The GoogLeNet module the features come from: "5b" or "4e" (half the stride).

    Returns:
        A tuple (height, width): the attention grid the decoder sees.

    Examples:

        >>> grid_size("small_vgg", (64, 64))
        (8, 8)
        >>> grid_size("resnet50", (224, 224)), grid_size("resnet50", (224, 224), feature_stage=4)
        ((7, 7), (14, 14))
    """
    stride = cnn_backbones.backbone_info(name).feature_stride
    if (option_of(name, "feature_stage") and feature_stage == 4) or \
            (option_of(name, "feature_module") and feature_module == "4e"):
        stride //= 2
    return image_size[0] // stride, image_size[1] // stride


def usable(names, image_size):
    """The backbones of ``names`` whose grid at ``image_size`` can be at least 4×4.

    A backbone is kept when some choice of its options (``feature_stage``, ``feature_module``)
    gives it a grid of at least ``MIN_GRID`` × ``MIN_GRID``; the others are left out of the space.

    Args:
        names: Registered backbone names.
        image_size: The input's (height, width) in pixels.

    Returns:
        The usable names, in their order.

    Raises:
        ValueError: When a name is not a registered backbone, or when no backbone is left (the
            message gives the grid each would have had).

    Examples:

        >>> usable(["small_vgg", "resnet50", "vgg16"], (64, 64))  # resnet50 at stage 4 has a 4×4 grid
        ['small_vgg', 'resnet50', 'vgg16']
        >>> usable(["small_vgg", "resnet50", "vgg16"], (32, 32))
        ['small_vgg']
        >>> usable(["vgg16"], (32, 32))
        Traceback (most recent call last):
        ...
        ValueError: No backbone has a grid of at least 4×4 at image size (32, 32) (vgg16 (2, 2)); ...
    """
    unknown = [n for n in names if n not in cnn_backbones.list_backbones() and not cnn_backbones.is_hub_name(n)]
    if unknown:
        raise ValueError(f"Unknown backbone {unknown[0]!r}. Available: {', '.join(cnn_backbones.list_backbones())}.")
    kept = [n for n in names if max(min(grid_size(n, image_size, 4, "4e")), min(grid_size(n, image_size))) >= MIN_GRID]
    if not kept:
        grids = ", ".join(f"{n} {grid_size(n, image_size)}" for n in names)
        raise ValueError(f"No backbone has a grid of at least {MIN_GRID}×{MIN_GRID} at image size {image_size} "
                         f"({grids}); use larger images or smaller-stride backbones (small_vgg, resnet20, …).")
    return kept


def declare(hp, name, given, kind, arguments, default):
    """Declare ``name`` in ``hp`` as the argument ``given`` asks, and return its value.

    Args:
        hp: The ``keras_tuner.HyperParameters`` to declare it in.
        name: The hyperparameter's name, e.g. "units".
        given: None tunes the default range; a keras-tuner HyperParameter declares its own range
            under ``name`` (its own name is dropped); any other value pins it (``hp.Fixed``).
        kind: The ``hp`` method of the default range: "Choice", "Float", "Int" or "Boolean".
        arguments: The keyword arguments of that method, e.g. ``{"values": [128, 256]}``.
        default: The default of the default range.

    Returns:
        The hyperparameter's current value in ``hp`` (its default on first declaration).

    Examples:

        >>> import keras_tuner as kt
        >>> hp = kt.HyperParameters()
        >>> declare(hp, "units", None, "Choice", {"values": [128, 256, 512]}, 512)
        512
        >>> declare(hp, "cell", "gru", "Choice", {"values": ["lstm", "gru"]}, "lstm")
        'gru'
        >>> custom = kt.engine.hyperparameters.Float("x", 0.1, 0.3, default=0.2)
        >>> declare(hp, "dropout", custom, "Float", {"min_value": 0.0, "max_value": 0.6}, 0.5)
        0.2
        >>> [(h.name, type(h).__name__) for h in hp.space]
        [('units', 'Choice'), ('cell', 'Fixed'), ('dropout', 'Float')]
    """
    if given is None:
        return getattr(hp, kind)(name, default=default, **arguments)
    if isinstance(given, kt.engine.hyperparameters.HyperParameter):
        config = {k: v for k, v in given.get_config().items() if k not in ("name", "conditions")}
        return getattr(hp, type(given).__name__)(name, **config)
    return hp.Fixed(name, given)


def check_fixed(settings):
    """Reject a pinned value that the space could never hold, naming it and what is accepted.

    Args:
        settings: ``{name: value}`` of the tunable arguments; None (tuned) and keras-tuner
            HyperParameters (custom ranges) pass unchecked.

    Raises:
        ValueError: When a choice (attention, cell, attention_score, feature_module) is not one of
            its values, a Boolean is not a bool, or a Float is not a number.

    Examples:

        >>> check_fixed({"cell": "gru", "units": 64, "dropout": None})  # accepted: nothing happens
        >>> check_fixed({"cell": "rnn"})
        Traceback (most recent call last):
        ...
        ValueError: cell='rnn' is not one of ['lstm', 'peephole_lstm', 'cifg_lstm', 'gru'].
    """
    for name, value in settings.items():
        if value is None or isinstance(value, kt.engine.hyperparameters.HyperParameter):
            continue
        kind, arguments, _ = space_of(name)
        if kind == "Choice" and isinstance(arguments["values"][0], str) and value not in arguments["values"]:
            raise ValueError(f"{name}={value!r} is not one of {arguments['values']}.")
        if kind == "Boolean" and not isinstance(value, bool):
            raise ValueError(f"{name} must be True, False, None (tune it) or a keras_tuner HyperParameter, got "
                             f"{value!r}.")
        if kind in ("Float",) and not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, None (tune it) or a keras_tuner HyperParameter, got {value!r}.")
