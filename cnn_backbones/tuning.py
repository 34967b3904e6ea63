"""keras-tuner search over the registered backbones as image classifiers: ``BackboneHyperModel``.

Hyperparameters. ``family`` picks the family; each family's own hyperparameters live in its name scope
under ``hp.conditional_scope("family", [family])``, so they are active only when it is picked
(``highway/depth``, ``highway/gate_bias``). They are scoped, not shared names, because keras-tuner 1.4
cannot hold one name under several conditional scopes (``HyperParameters.ensure_active_values``
drops the active one's value when a later one is inactive). ``**fixed`` takes a short name (every
family that has it) or a scoped one.

- ``family``: Choice of the families searched, default the first.
- ``<family>/depth``: Choice of the family's variants usable at ``input_shape`` (default small_vgg,
  resnet20, small_densenet, small_googlenet, highway19 where offered).
- ``<family>/dropout`` before the main head: Float 0–0.5, step 0.1, default 0.4 for googlenet (the
  paper's), 0 otherwise. ``learning_rate`` (Adam): Float 1e-4–1e-2, log sampling, default 1e-3.
- ``vgg/stage_widths`` (small_vgg only): "8-16-32" | "16-32-64" (default) | "32-64-128".
- ``highway/gate_bias``: Float −4 to −1, default the paper's for the default depth (−1, −2, −3 for
  11, 19, 32 layers); ``highway/stage_widths``: "16-32-64" | "32-64-128" (default) | "64-128-256".
- resnet: the registered resnets take no widths; resnet20 takes no option and the ImageNet-size ones
  take ``resnet/feature_stage`` 4 | 5 (default 5), declared only where one of them is usable.
- ``densenet/growth_rate``: 12 | 24 | 32 (default the default depth's: 12 small, 32 ImageNet).
- ``googlenet/feature_module``: "4e" | "5b" (default); ``googlenet/aux_heads``: Boolean, default True
  (the paper's); under it ``googlenet/aux_weight``: Float 0.1–1.0, default 0.3.

Options below a depth are conditional on the depths that take them. A variant is usable when
min(H, W) // feature_stride >= ``MIN_GRID`` (3); aux heads are offered when min(H, W) >= 5 ×
feature_stride, as the aux layers sit at or before the feature stride and their heads need a 5×5 grid
(40 px for small_googlenet). With ``families=None`` the low-resolution variants (registered for
<= 96 px) are searched: small_vgg, resnet20, small_densenet, small_googlenet, highway11/19/32; name
``families`` to add the ImageNet-size variants usable at ``input_shape``. Note that a tuner builds the
model once per conditional scope when it starts (keras-tuner does, even with
``declare_hyperparameters``); the builds only make graphs. ``BackboneHyperModel``'s example runs a
search.

Examples:
    >>> import keras_tuner
    >>> from cnn_backbones.tuning import BackboneHyperModel, OBJECTIVE
    >>> hypermodel = BackboneHyperModel(4, (32, 32, 3), families=["highway", "vgg"], learning_rate=3e-3)
    >>> hp = keras_tuner.HyperParameters()
    >>> hypermodel.declare_hyperparameters(hp)  # nothing built
    >>> hp.values  # the baseline
    {'family': 'highway', 'highway/depth': 'highway19', 'highway/dropout': 0.0,
     'highway/stage_widths': '32-64-128', 'highway/gate_bias': -2.0, 'learning_rate': 0.003}
"""

import keras
import keras_tuner
import numpy as np

from cnn_backbones.classifier import (AUX_LOSS_WEIGHT, classifier_compile_args, classifier_targets, create_classifier,
                                      inference_model)
from cnn_backbones.highway import default_gate_bias
from cnn_backbones.registry import backbone_info, backbone_options, list_backbones

OBJECTIVE = keras_tuner.Objective("val_accuracy", "max")
MIN_GRID = 3
AUX_MIN_GRID = 5
LOW_RESOLUTION = 96  # px: variants registered at or below it are the default search
DEFAULT_FAMILIES = ("vgg", "resnet", "densenet", "googlenet", "highway")
PREFERRED_DEPTHS = ("small_vgg", "resnet20", "small_densenet", "small_googlenet", "highway19")
WIDTHS = {"vgg": ("8-16-32", "16-32-64", "32-64-128"), "highway": ("16-32-64", "32-64-128", "64-128-256")}
FAMILY_NAMES = ("depth", "dropout", "stage_widths", "gate_bias", "feature_stage", "growth_rate", "feature_module",
                "aux_heads", "aux_weight")  # each declared as "<family>/<name>" where the family has it
NAMES = ("family", "learning_rate") + FAMILY_NAMES
_BUILDER_ARGS = {"stage_widths": "widths", "gate_bias": "gate_bias", "feature_stage": "feature_stage",
                 "growth_rate": "growth_rate", "feature_module": "feature_module"}


def _takes(name, option):
    return option in backbone_options(name)


def _number(name):
    return int("".join(c for c in name if c.isdigit()) or 0)


def _default_depth(names):
    return next((n for n in PREFERRED_DEPTHS if n in names), names[0])


def _families():
    return {backbone_info(n).family for n in list_backbones()}


def _option_default(name, option):
    if option == "gate_bias":  # the builder's None means the paper's rule by depth
        return default_gate_bias(_number(name))
    default = backbone_options(name)[option]
    return "-".join(map(str, default)) if isinstance(default, tuple) else default


def _choice_values(pinned):
    if isinstance(pinned, keras_tuner.engine.hyperparameters.Choice):
        return list(pinned.values)
    if isinstance(pinned, keras_tuner.engine.hyperparameters.Fixed):
        return [pinned.value]
    if isinstance(pinned, str):
        return [pinned]
    raise ValueError(f"Expected a name, a Choice or a Fixed hyperparameter, got {pinned!r}.")


class _CopyValAccuracy(keras.callbacks.Callback):
    """Puts the main head's validation accuracy under ``val_accuracy`` (aux-head models log it as
    ``val_logits_accuracy``); it runs first, so the tuner's callbacks read it every epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "val_accuracy" not in logs and "val_logits_accuracy" in logs:
            logs["val_accuracy"] = logs["val_logits_accuracy"]


class BackboneHyperModel(keras_tuner.HyperModel):
    """Tunes registered backbones (with a pooled dense head) as ``num_classes``-way image classifiers.

    ``families``: registry family names (default: the low-resolution families that suit
    ``input_shape``). ``seed`` seeds Keras in every ``build`` (weights, dropout, shuffling).
    ``**fixed``: a value pins that hyperparameter (``hp.Fixed``; ``stage_widths`` also takes a tuple);
    a ``keras_tuner`` HyperParameter object (e.g. ``keras_tuner.engine.hyperparameters.Float(
    "dropout", 0, 0.3)``) replaces its range. Use with ``objective=OBJECTIVE``; ``fit`` takes integer
    labels of shape (N,). See the module docstring for the names, ranges and defaults.

    Args:
        num_classes: the number of classes, an integer >= 2.
        input_shape: (height, width, 3), positive integers.
        families: a family name or a list of them; None for the low-resolution families usable at
            ``input_shape`` (or the family of a pinned ``family``/``depth``).
        seed: the seed of Keras' random numbers in every ``build``.
        **fixed: hyperparameters pinned to a value or given another range, by short name
            (``dropout``) or scoped name (``googlenet/dropout``).

    Raises:
        ValueError: for a ``num_classes`` or ``input_shape`` out of range, an unknown family or
            hyperparameter, a pinned ``family`` or ``depth`` that is not searched or not usable at
            ``input_shape``, or a pinned hyperparameter that no searched backbone takes.

    Examples:
        >>> import keras_tuner, numpy as np
        >>> images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("float32")
        >>> labels = np.arange(8) % 4
        >>> hypermodel = BackboneHyperModel(4, (32, 32, 3), depth="small_vgg", stage_widths=(8, 16, 32))
        >>> tuner = keras_tuner.RandomSearch(hypermodel, objective=OBJECTIVE, max_trials=1, directory="search")
        >>> tuner.search(images, labels, epochs=1, validation_split=0.25, batch_size=8, verbose=0)
        >>> tuner.get_best_hyperparameters()[0].get("vgg/depth")
        'small_vgg'
        >>> model = hypermodel.export_model(tuner.get_best_models(1)[0])  # images → logits
        >>> model.output_shape
        (None, 4)
    """

    def __init__(self, num_classes, input_shape, families=None, seed=0, **fixed):
        super().__init__(name="backbone_classifier")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) != 3 or shape[-1] != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
            raise ValueError(f"input_shape must be (height, width, 3) with positive integers, got {input_shape!r}.")
        unknown = sorted(k for k in fixed if k not in NAMES and not (
            k.count("/") == 1 and k.split("/")[0] in _families() and k.split("/")[1] in FAMILY_NAMES))
        if unknown:
            raise ValueError(f"Unknown hyperparameter {', '.join(map(repr, unknown))}. Accepted: family, "
                             f"learning_rate, and {', '.join(FAMILY_NAMES)} (each also as <family>/<name>).")
        self.num_classes, self.input_shape, self.seed = num_classes, shape, seed
        self.fixed = {k: "-".join(map(str, v)) if k.endswith("stage_widths") and isinstance(v, (tuple, list)) else v
                      for k, v in fixed.items()}
        self.variants = self._variants(families)
        if "family" in self.fixed:
            chosen = _choice_values(self.fixed["family"])
            missing = [f for f in chosen if f not in self.variants]
            if missing:
                raise ValueError(f"family {missing[0]!r} is not searched; families: {', '.join(self.variants)}.")
            self.variants = {f: self.variants[f] for f in chosen}
        for key in [k for k in self.fixed if k.split("/")[-1] == "depth"]:
            chosen = _choice_values(self.fixed[key])
            owners = [f for f, names in self.variants.items()
                      if set(chosen) <= set(names) and key in ("depth", f"{f}/depth")]
            if len(owners) != 1:
                usable = [n for f, names in self.variants.items() if key in ("depth", f"{f}/depth") for n in names]
                raise ValueError(f"{key} {self.fixed[key]!r} must name variants of one family usable at {shape} "
                                 f"(min(H, W) >= {MIN_GRID} × feature stride): {', '.join(usable) or 'none'}.")
            self.variants = {f: [n for n in names if n in chosen or f != owners[0]]
                             for f, names in self.variants.items() if key != "depth" or f == owners[0]}
        hp = keras_tuner.HyperParameters()
        self.declare_hyperparameters(hp)
        declared = {h.name for h in hp.space} | {h.name.split("/")[-1] for h in hp.space}
        unused = [k for k in fixed if k not in declared]
        if unused:
            raise ValueError(f"{', '.join(unused)} does not apply to the backbones searched at {shape}: "
                             f"{', '.join(n for names in self.variants.values() for n in names)}. "
                             f"These do: {', '.join(dict.fromkeys(h.name for h in hp.space))}.")

    def _variants(self, families):
        size = min(self.input_shape[:2])
        registered = {}
        for n in list_backbones():
            registered.setdefault(backbone_info(n).family, []).append(n)
        if families is None:
            pinned = self.fixed.get("family", self.fixed.get("depth"))
            named = list(dict.fromkeys(backbone_info(n).family if n in list_backbones() else n
                                       for n in _choice_values(pinned))) if pinned is not None else []
            families = named or [f for f in DEFAULT_FAMILIES if f in registered]
            small = not named
        else:
            families = [families] if isinstance(families, str) else list(families)
            small = False
        bad = [f for f in families if f not in registered]
        if bad or not families or len(set(families)) != len(families):
            raise ValueError(f"families must be distinct family names from {', '.join(sorted(registered))}; "
                             f"got {families!r}" + (" (to pin a backbone pass depth=its name)." if
                                                     set(bad) & set(list_backbones()) else "."))
        variants = {}
        for family in families:
            names = [n for n in registered[family] if size // backbone_info(n).feature_stride >= MIN_GRID
                     and not (small and backbone_info(n).default_input_shape[0] > LOW_RESOLUTION)]
            if names:
                variants[family] = sorted(names, key=lambda n: (backbone_info(n).default_input_shape[0], _number(n)))
            elif not small:
                strides = {n: backbone_info(n).feature_stride for n in registered[family]}
                raise ValueError(f"No {family} backbone is usable at {self.input_shape}: they need min(H, W) >= "
                                 f"{MIN_GRID} × feature stride ({strides}).")
        if not variants:
            raise ValueError(f"No low-resolution backbone is usable at {self.input_shape}: they need at least "
                             f"{MIN_GRID * 8} px a side.")
        return variants

    def _declare(self, hp, family, name, kind, *args, **kwargs):
        key = f"{family}/{name}" if family else name
        pinned = self.fixed.get(key, self.fixed.get(name))
        if isinstance(pinned, keras_tuner.engine.hyperparameters.HyperParameter):
            config = {k: v for k, v in pinned.get_config().items() if k != "conditions"}
            return getattr(hp, type(pinned).__name__)(**{**config, "name": name})
        if key in self.fixed or name in self.fixed:
            return hp.Fixed(name, pinned)
        return getattr(hp, kind)(name, *args, **kwargs)

    def declare_hyperparameters(self, hp):
        """Declare the whole space in ``hp`` (conditional scopes, nothing built).

        Args:
            hp: a ``keras_tuner.HyperParameters``; its values afterwards are the baseline's.
        """
        size = min(self.input_shape[:2])
        self._declare(hp, None, "family", "Choice", list(self.variants), default=next(iter(self.variants)))
        for family, names in self.variants.items():
            with hp.conditional_scope("family", [family]), hp.name_scope(family):
                pinned = self.fixed.get(f"{family}/depth", self.fixed.get("depth"))
                depth = getattr(pinned, "default", None)  # a Choice's (or Fixed's) own default depth
                depth = depth if depth in names else _default_depth(names)
                self._declare(hp, family, "depth", "Choice", names, default=depth)
                self._declare(hp, family, "dropout", "Float", 0.0, 0.5, step=0.1,
                              default=0.4 if family == "googlenet" else 0.0)
                for option, choices in (("stage_widths", WIDTHS.get(family)), ("gate_bias", None),
                                        ("feature_stage", [4, 5]), ("growth_rate", [12, 24, 32]),
                                        ("feature_module", ["4e", "5b"])):
                    taking = [n for n in names if _takes(n, _BUILDER_ARGS[option])]
                    if not taking:
                        continue
                    default = _option_default(depth if depth in taking else taking[0], _BUILDER_ARGS[option])
                    with hp.conditional_scope("depth", taking):
                        if option == "gate_bias":
                            self._declare(hp, family, option, "Float", -4.0, -1.0, default=default)
                        else:
                            self._declare(hp, family, option, "Choice", list(choices), default=default)
                with_aux = [n for n in names if backbone_info(n).aux_layers
                            and size >= AUX_MIN_GRID * backbone_info(n).feature_stride]
                if with_aux:
                    with hp.conditional_scope("depth", with_aux):
                        self._declare(hp, family, "aux_heads", "Boolean", default=True)
                        with hp.conditional_scope("aux_heads", [True]):
                            self._declare(hp, family, "aux_weight", "Float", 0.1, 1.0, default=AUX_LOSS_WEIGHT)
        self._declare(hp, None, "learning_rate", "Float", 1e-4, 1e-2, sampling="log", default=1e-3)

    def build(self, hp):
        """The classifier for ``hp``'s values (its defaults: the baseline), compiled with Adam.

        Args:
            hp: a ``keras_tuner.HyperParameters``; the space is declared in it first.

        Returns:
            The compiled ``keras.Model`` (a dict of logits when it has auxiliary heads).
        """
        self.declare_hyperparameters(hp)
        keras.utils.set_random_seed(self.seed)
        family = hp.get("family")

        def value(option):  # the family's value of ``option``, None where it is inactive
            key = f"{family}/{option}"
            return hp.get(key) if hp.is_active(key) else None

        name = value("depth")
        options = {arg: value(option) for option, arg in _BUILDER_ARGS.items()
                   if value(option) is not None and _takes(name, arg)}
        if "widths" in options:
            options["widths"] = tuple(int(w) for w in str(options["widths"]).split("-"))
        aux = bool(value("aux_heads"))
        model = create_classifier(name, self.num_classes, self.input_shape, aux_heads=aux,
                                  dropout=value("dropout") or 0.0, **options)
        aux_weight = AUX_LOSS_WEIGHT if value("aux_weight") is None else value("aux_weight")
        model.compile(optimizer=keras.optimizers.Adam(hp.get("learning_rate")),
                      **classifier_compile_args(model, aux_weight))
        return model

    def _check(self, x, y, what):
        y = np.asarray(y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            hint = " (one-hot? pass y.argmax(-1))" if y.ndim == 2 else ""
            raise ValueError(f"{what} must be integer class ids of shape (N,), got shape {y.shape} and dtype "
                             f"{y.dtype}{hint}.")
        bad = sorted(set(y[(y < 0) | (y >= self.num_classes)].tolist()))
        if bad:
            raise ValueError(f"{what} has labels {bad[:5]} outside 0..{self.num_classes - 1} "
                             f"(num_classes={self.num_classes}).")
        shape = tuple(getattr(x, "shape", ()))
        if shape[1:] != self.input_shape or shape[0] != len(y):
            raise ValueError(f"Images for {what} must have shape (N, *{self.input_shape}) with N = {len(y)} "
                             f"labels, got {shape}.")
        return y

    def fit(self, hp, model, x, y, validation_data=None, validation_split=0.2, **kwargs):
        """``model.fit`` on images ``x`` and integer labels ``y`` (N,); the logs always hold ``val_accuracy``.

        Args:
            hp: the trial's ``keras_tuner.HyperParameters`` (unused: ``model`` is built from them).
            model: the model ``build`` made.
            x: images, (N, *input_shape), in 0..255.
            y: integer class ids, shape (N,).
            validation_data: ``(images, labels)`` to score; None to hold out ``validation_split``.
            validation_split: the share of ``x`` held out when no ``validation_data`` is given, in (0, 1).
            **kwargs: passed to ``model.fit`` (``epochs``, ``batch_size``, ``callbacks``, …).

        Returns:
            The ``keras.callbacks.History`` of ``model.fit``.

        Raises:
            ValueError: for labels that are not integer ids in 0..num_classes-1 of shape (N,), images of
                another shape or number, or neither ``validation_data`` nor a ``validation_split`` in (0, 1).
        """
        y = classifier_targets(model, self._check(x, y, "y"))
        if validation_data is not None:
            x_val, y_val = validation_data[:2]
            validation_data = (x_val, classifier_targets(model, self._check(x_val, y_val, "validation labels")))
            validation_split = 0.0
        elif not 0 < validation_split < 1:
            raise ValueError(f"Pass validation_data or a validation_split in (0, 1) (got {validation_split!r}): "
                             f"the objective is {OBJECTIVE.name}.")
        callbacks = [_CopyValAccuracy()] + list(kwargs.pop("callbacks", None) or [])
        if not model.optimizer.built:  # made inside the first trace, its variables make TensorFlow trace twice
            with model.distribute_strategy.scope():
                model.optimizer.build(model.trainable_variables)
        return model.fit(x, y, validation_data=validation_data, validation_split=validation_split,
                         callbacks=callbacks, **kwargs)

    @staticmethod
    def export_model(model):
        """A plain images → logits model (the main head only, same weights) for saving or serving.

        Args:
            model: a model built by ``build`` (or the tuner's best).

        Returns:
            ``inference_model(model)`` for a model with auxiliary heads, else ``model`` itself.
        """
        return inference_model(model) if isinstance(model.output, dict) else model
