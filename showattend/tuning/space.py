"""The captioner's search space: stable hyperparameter names, sensible ranges, conditional per-backbone
options, and the rule that turns an argument (None, a value, a HyperParameter) into a declaration."""
import keras_tuner as kt

import cnn_backbones

MIN_GRID = 4  # a backbone whose grid would be smaller than 4×4 at the image size is left out of the space

# name: (kind, arguments, default): the ranges a None argument tunes; the defaults are the paper's
# decoder (REFERENCE.md: 512/512/512, dropout 0.5, λ = 1) with the training recipe's learning rate.
DECODER_SPACE = {
    "attention": ("Choice", {"values": ["soft", "hard"]}, "soft"),
    "cell": ("Choice", {"values": ["lstm", "peephole_lstm", "cifg_lstm", "gru"]}, "lstm"),
    "attention_score": ("Choice", {"values": ["additive", "dot", "general"]}, "additive"),
    "units": ("Choice", {"values": [128, 256, 512, 1024]}, 512),
    "embed_dim": ("Choice", {"values": [128, 256, 512]}, 512),
    "attention_dim": ("Choice", {"values": [128, 256, 512]}, 512),
    "dropout": ("Float", {"min_value": 0.0, "max_value": 0.6, "step": 0.1}, 0.5),
    "doubly_stochastic": ("Choice", {"values": [0.0, 0.01, 0.1, 1.0]}, 1.0),
    "learning_rate": ("Float", {"min_value": 1e-4, "max_value": 1e-2, "sampling": "log"}, 4e-4),
}
HARD_SPACE = {
    "reinforce_weight": ("Float", {"min_value": 0.01, "max_value": 1.0, "sampling": "log"}, 0.1),
    "entropy_weight": ("Float", {"min_value": 1e-4, "max_value": 1e-2, "sampling": "log"}, 0.002),
}
BACKBONE_SPACE = {
    "feature_stage": ("Choice", {"values": [5, 4]}, 5),  # ResNet: stage 5 (stride 32) or 4 (stride 16)
    "feature_module": ("Choice", {"values": ["5b", "4e"]}, "5b"),  # GoogLeNet: 7×7 or 14×14 at 224 px
    "pretrained": ("Boolean", {}, True),
    "fine_tune": ("Boolean", {}, False),
    "gate_bias": ("Float", {"min_value": -4.0, "max_value": -1.0, "step": 0.5}, -2.0),  # highway
}
NAMES = ("backbone", *BACKBONE_SPACE, *DECODER_SPACE, *HARD_SPACE)


def option_of(name, option):
    """Whether backbone ``name``'s builder takes ``option`` (feature_stage, feature_module, gate_bias)."""
    return option in cnn_backbones.backbone_options(name)


def grid_size(name, image_size, feature_stage=5, feature_module="5b"):
    """The feature grid (h, w) of backbone ``name`` at ``image_size``, from its stride: nothing is built.

    >>> grid_size("small_vgg", (64, 64))
    (8, 8)
    """
    stride = cnn_backbones.backbone_info(name).feature_stride
    if (option_of(name, "feature_stage") and feature_stage == 4) or \
            (option_of(name, "feature_module") and feature_module == "4e"):
        stride //= 2
    return image_size[0] // stride, image_size[1] // stride


def usable(names, image_size):
    """``names`` whose grid at ``image_size`` is at least 4×4 with some choice of their options; the
    others are left out, and if none is left the error says which grids they would have had."""
    unknown = [n for n in names if n not in cnn_backbones.list_backbones()]
    if unknown:
        raise ValueError(f"Unknown backbone {unknown[0]!r}. Available: {', '.join(cnn_backbones.list_backbones())}.")
    kept = [n for n in names if max(min(grid_size(n, image_size, 4, "4e")), min(grid_size(n, image_size))) >= MIN_GRID]
    if not kept:
        grids = ", ".join(f"{n} {grid_size(n, image_size)}" for n in names)
        raise ValueError(f"No backbone has a grid of at least {MIN_GRID}×{MIN_GRID} at image size {image_size} "
                         f"({grids}); use larger images or smaller-stride backbones (small_vgg, resnet20, …).")
    return kept


def declare(hp, name, given, kind, arguments, default):
    """Declare ``name`` in ``hp`` and return its value: ``given`` None tunes the default range, a
    keras-tuner HyperParameter sets a custom one, any other value pins it (``hp.Fixed``)."""
    if given is None:
        return getattr(hp, kind)(name, default=default, **arguments)
    if isinstance(given, kt.engine.hyperparameters.HyperParameter):
        config = {k: v for k, v in given.get_config().items() if k not in ("name", "conditions")}
        return getattr(hp, type(given).__name__)(name, **config)
    return hp.Fixed(name, given)


def check_fixed(settings):
    """Reject a value that the range could never hold, naming it and what is accepted."""
    for name, value in settings.items():
        if value is None or isinstance(value, kt.engine.hyperparameters.HyperParameter):
            continue
        kind, arguments, _ = {**DECODER_SPACE, **HARD_SPACE, **BACKBONE_SPACE}[name]
        if kind == "Choice" and name in ("attention", "cell", "attention_score", "feature_module") \
                and value not in arguments["values"]:
            raise ValueError(f"{name}={value!r} is not one of {arguments['values']}.")
        if kind == "Boolean" and not isinstance(value, bool):
            raise ValueError(f"{name} must be True, False, None (tune it) or a keras_tuner HyperParameter, got "
                             f"{value!r}.")
        if kind in ("Float",) and not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, None (tune it) or a keras_tuner HyperParameter, got {value!r}.")
