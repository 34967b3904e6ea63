"""CaptionHyperModel: a keras-tuner HyperModel over backbones and the attention decoder."""
import contextlib
import hashlib
import json
import os

import keras
import keras_tuner as kt
import numpy as np

import cnn_backbones
from showattend.callbacks import CaptionMetrics, StopWhenAsked
from showattend.data.dataset import CaptionDataset
from showattend.decoders import decoder_class
from showattend.tuning.space import (BACKBONE_SPACE, LEARNING_RATE, MIN_GRID, NAMES, check_fixed, declare, decoder_space,
                                     grid_size, option_of, space_names, usable)

__all__ = ["OBJECTIVES", "POLICIES", "CaptionHyperModel", "caption_objective"]

OBJECTIVES = {"bleu4": "val_bleu4", "val_bleu4": "val_bleu4", "cider": "val_cider", "val_cider": "val_cider"}
POLICIES = (None, "float32", "mixed_float16", "mixed_bfloat16")


def caption_objective(name="val_bleu4"):
    """The keras-tuner objective of a captioning score, maximised.

    keras-tuner cannot infer the direction of a metric it does not know, so a search names its
    objective this way.

    Args:
        name: "bleu4" or "val_bleu4", "cider" or "val_cider" (the validation score ``CaptionMetrics``
            logs); a ``keras_tuner.Objective`` is returned as it is.

    Returns:
        A ``keras_tuner.Objective`` on the validation score, direction "max".

    Raises:
        ValueError: When ``name`` is none of those.

    Examples:

        >>> objective = caption_objective("cider")
        >>> objective.name, objective.direction
        ('val_cider', 'max')
        >>> caption_objective("meteor")
        Traceback (most recent call last):
        ...
        ValueError: Unknown objective 'meteor'. Accepted: bleu4, val_bleu4, cider, val_cider.
    """
    if isinstance(name, kt.Objective):
        return name
    if name not in OBJECTIVES:
        raise ValueError(f"Unknown objective {name!r}. Accepted: {', '.join(OBJECTIVES)}.")
    return kt.Objective(OBJECTIVES[name], "max")


class CaptionHyperModel(kt.HyperModel):
    """Search space and training of a ``Captioner`` for keras-tuner.

    Every tunable argument (``attention``, ``cell``, ``units``, ``learning_rate``, …; see
    ``showattend.tuning.space.NAMES``) is tuned over a sensible range when None, pinned when given a
    value, and searched over a custom range when given a keras-tuner HyperParameter (its name is
    replaced by the argument's). The defaults, and so the first trial of every search, are the
    paper's decoder (512/512/512, dropout 0.5, λ = 1) on the first of ``backbones`` with Adam at 4e-4.
    Per-backbone options are conditional on ``backbone``: ``feature_stage`` (ResNets),
    ``feature_module`` (GoogLeNets), ``gate_bias`` (highway nets), ``pretrained`` (backbones with
    ImageNet weights) and under it ``fine_tune``; ``reinforce_weight`` and ``entropy_weight`` are
    active only for hard attention. A keras-hub preset (``"hub:PRESET"``) has its preset's weights
    and is searched frozen. Backbones whose grid would be smaller than 4×4 at ``image_size``
    are left out.

    ``build(hp)`` only constructs: a pretrained backbone loads ``weights`` then (downloaded once into
    Keras' cache), never while the space is declared. ``fit`` trains with the ``train`` recipe
    (warm-up and cosine decay, clipped gradients) and a ``CaptionMetrics`` placed before the tuner's
    callbacks, so the trial's checkpoint is its best epoch by the objective. A frozen pretrained
    backbone trains from a feature cache shared by the trials with the same backbone. An
    out-of-memory trial is retried once with half the batch, then fails alone; a loss that is no
    longer finite stops the trial, and its last epoch is scored on the weights it began with.
    ``mixed_precision`` ("mixed_float16", "mixed_bfloat16") is set in ``build``, after keras-tuner's
    ``clear_session``.

    A search trains it with ``make_tuner(hypermodel, "random", max_trials=4).search(train,
    validation_data=val)``, ``train`` and ``val`` being CaptionDatasets.

    Args:
        vocabulary: The ``showattend.Vocabulary`` of every trial's captioner (or its config dict).
        backbones: The backbone names to search over (a name or a list), keras-hub presets as
            ``"hub:PRESET"`` among them; None searches every registered backbone. The first is the
            first trial's.
        image_size: The images' (height, width) in pixels; by default the first backbone's default
            input size.
        decoders: The decoders to search over (``showattend.decoders.list_decoders()``); with more
            than one, ``decoder`` is a hyperparameter and each decoder's options are conditional on it.
        weights: What a pretrained backbone loads: "imagenet" or a weights file.
        objective: The score trials are ranked by: "val_bleu4" (or "bleu4"), "val_cider" (or
            "cider"), or a ``keras_tuner.Objective``.
        batch_size: The training batch size (halved once for a trial that runs out of memory).
        max_length: The longest caption, in words, the captioners read and write.
        val_images: How many validation images every epoch is scored on.
        val_beam: The beam size of the validation captions (1: greedy).
        feature_dir: The folder of the frozen backbones' feature caches; by default ``features``
            in the search's folder.
        mixed_precision: None, "float32", "mixed_float16" or "mixed_bfloat16".
        seed: The seed of the captioners and of the validation subset.
        **space: a value for any name of the space, ``TUNABLE``: the decoder's searched options
            (``attention``, ``cell``, ``attention_score``, ``units``, ``embed_dim``,
            ``attention_dim``, ``dropout``, ``doubly_stochastic``, and for hard attention
            ``reinforce_weight`` and ``entropy_weight``: their declarations in
            ``showattend.decoders.lstm_options.LSTM_OPTIONS`` give the ranges), ``learning_rate`` (Adam's
            peak, 1e-4 to 1e-2 on a log scale), and the backbones' ``feature_stage`` (ResNets: 5 or
            4), ``feature_module`` (GoogLeNets: "5b" or "4e"), ``pretrained``, ``fine_tune`` (a
            pretrained backbone trains too, else it is frozen and its features cached) and
            ``gate_bias`` (highway nets: −4 to −1). None (the default) searches it; a value pins
            it; a keras-tuner HyperParameter searches its own range.

    Raises:
        ValueError: When a backbone is unknown or none has a large enough grid at ``image_size``,
            ``image_size`` is not (height, width), a name is not in the space, a pinned value is
            outside its space, or
            ``objective``, ``mixed_precision`` or ``batch_size`` is not one accepted.

    Examples:

        >>> import keras_tuner as kt
        >>> from showattend import Vocabulary
        >>> from showattend.datasets import load
        >>> vocabulary = Vocabulary.build(load("shapes:5").all_captions(), min_count=1)
        >>> hypermodel = CaptionHyperModel(vocabulary, backbones=["small_vgg", "resnet20"], image_size=(64, 64),
        ...                                units=16, embed_dim=16, attention_dim=16, cell="gru")
        >>> hp = kt.HyperParameters()
        >>> hypermodel.declare_hyperparameters(hp)  # the space; nothing is built
        >>> [h.name for h in hp.space]  # doctest: +NORMALIZE_WHITESPACE
        ['backbone', 'attention', 'cell', 'attention_score', 'units', 'embed_dim', 'attention_dim', 'dropout',
         'doubly_stochastic', 'learning_rate', 'reinforce_weight', 'entropy_weight']
        >>> hp.values["backbone"], hp.values["cell"], hp.values["units"], hp.values["dropout"]
        ('small_vgg', 'gru', 16, 0.5)
        >>> model = hypermodel.build(hp)  # the first trial's captioner: every default
        >>> type(model).__name__, model.backbone.name
        ('Captioner', 'small_vgg')
    """

    TUNABLE = tuple(n for n in NAMES if n != "backbone")  # the arguments that tune, pin or range a hyperparameter

    def __init__(self, vocabulary, backbones=("small_vgg",), image_size=None, decoders=("lstm",), weights="imagenet",
                 objective="val_bleu4", batch_size=64, max_length=30, val_images=200, val_beam=1, feature_dir=None,
                 mixed_precision=None, seed=0, **space):
        super().__init__(name="captioner", tunable=True)
        from showattend.captioner import _as_vocabulary

        self.vocabulary = _as_vocabulary(vocabulary)
        names = ([backbones] if isinstance(backbones, str) else
                 list(cnn_backbones.list_backbones()) if backbones is None else list(backbones))
        if not names:
            raise ValueError("backbones is empty: name at least one registered backbone, e.g. ['small_vgg'].")
        if image_size is None:
            known = names[0] in cnn_backbones.list_backbones() or cnn_backbones.is_hub_name(names[0])
            image_size = cnn_backbones.backbone_info(names[0] if known else "small_vgg").default_input_shape[:2]
        if len(tuple(image_size)) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size must be (height, width), got {image_size!r}.")
        self.image_size = tuple(int(s) for s in image_size)
        self.backbones = usable(names, self.image_size)
        self.decoders = [decoders] if isinstance(decoders, str) else list(decoders)
        for decoder in self.decoders or [None]:
            decoder_class(decoder)  # an unknown name (or none at all) is refused, naming the registered ones
        _check_disjoint(self.decoders)
        tunable = [name for name in space_names(self.decoders) if name != "backbone"]
        unknown = sorted(set(space) - set(tunable))
        if unknown:
            raise ValueError(f"CaptionHyperModel has no argument {unknown[0]!r}. The space's names: "
                             f"{', '.join(tunable)}.")
        self.given = {name: space.get(name) for name in tunable}
        check_fixed(self.given)
        if mixed_precision not in POLICIES:
            raise ValueError(f"Unknown mixed_precision {mixed_precision!r}. Accepted: {POLICIES}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.objective = caption_objective(objective)
        self.weights, self.batch_size, self.max_length = weights, batch_size, int(max_length)
        self.val_images, self.val_beam, self.feature_dir = int(val_images), int(val_beam), feature_dir
        self.mixed_precision, self.seed = mixed_precision, seed
        self.project_dir = None  # set by the tuner: the default home of the feature cache
        self.deadline = None  # set by the tuner under a time budget: a trial stops at the epoch that passes it
        self.batch_size_used = None

    # --- the space ------------------------------------------------------------------------------

    def declare_hyperparameters(self, hp):
        """Declare the whole space, conditional scopes included, without building anything."""
        self._values(hp)

    def _options(self, option, choices):
        """Backbones that take ``option``, and the values of it that give them all a large enough grid."""
        parents = [n for n in self.backbones if option_of(n, option)]
        fits = [c for c in choices if all(min(grid_size(n, self.image_size, **{option: c})) >= MIN_GRID
                                          for n in parents)]
        return parents, fits or choices[-1:]

    def _values(self, hp):
        """Declare every hyperparameter in ``hp`` (idempotent) and return the active values by name."""
        values = {"backbone": declare(hp, "backbone", self.backbones[0] if len(self.backbones) == 1 else None,
                                      "Choice", {"values": self.backbones}, self.backbones[0])}
        for option in ("feature_stage", "feature_module"):
            kind, arguments, _ = BACKBONE_SPACE[option]
            parents, fits = self._options(option, arguments["values"])
            if parents:
                with hp.conditional_scope("backbone", parents):
                    values[option] = declare(hp, option, self.given[option], kind, {"values": fits}, fits[0])
        pretrainable = [n for n in self.backbones if cnn_backbones.backbone_info(n).imagenet_weights]
        if pretrainable:
            with hp.conditional_scope("backbone", pretrainable):
                values["pretrained"] = declare(hp, "pretrained", self.given["pretrained"], *BACKBONE_SPACE["pretrained"])
                with hp.conditional_scope("pretrained", [True]):
                    values["fine_tune"] = declare(hp, "fine_tune", self.given["fine_tune"], *BACKBONE_SPACE["fine_tune"])
        gated = [n for n in self.backbones if option_of(n, "gate_bias")]
        if gated:
            with hp.conditional_scope("backbone", gated):
                values["gate_bias"] = declare(hp, "gate_bias", self.given["gate_bias"], *BACKBONE_SPACE["gate_bias"])
        several = len(self.decoders) > 1
        if several:
            values["decoder"] = declare(hp, "decoder", None, "Choice", {"values": self.decoders}, self.decoders[0])
        for i, decoder in enumerate(self.decoders):  # each decoder's options, under its choice when several
            always, conditional = decoder_space(decoder)
            scope = (lambda: hp.conditional_scope("decoder", [decoder])) if several else contextlib.nullcontext
            with scope():
                for name, space in always.items():
                    _keep(values, name, declare(hp, name, self.given.get(name), *space))
            if i == 0:
                values["learning_rate"] = declare(hp, "learning_rate", self.given["learning_rate"], *LEARNING_RATE)
            with scope():
                for (option, when), space in conditional.items():
                    with hp.conditional_scope(option, list(when)):
                        for name, space_of_name in space.items():
                            _keep(values, name, declare(hp, name, self.given.get(name), *space_of_name))
        return {name: value for name, value in values.items() if value is not None}

    # --- build and fit --------------------------------------------------------------------------

    def build(self, hp):
        """A compiled Captioner for ``hp``'s values; a pretrained backbone loads its weights here."""
        from showattend.captioner import Captioner
        from showattend.training import Recipe

        if self.mixed_precision:  # after keras-tuner's clear_session, which resets the policy
            keras.mixed_precision.set_global_policy(self.mixed_precision)
        values = self._values(hp)
        options = {k: values[k] for k in ("feature_stage", "feature_module", "gate_bias") if k in values}
        imagenet = bool(values.get("pretrained"))
        # a keras-hub preset comes with its weights: frozen (its features cached) like a pretrained backbone
        frozen = (imagenet and not values.get("fine_tune")) or cnn_backbones.is_hub_name(values["backbone"])
        encoder = cnn_backbones.create_backbone(values["backbone"], input_shape=(*self.image_size, 3),
                                                weights=self.weights if imagenet else None, trainable=not frozen,
                                                **options)
        decoder = values.get("decoder", self.decoders[0])
        options = {option.name: values[option.name] for option in decoder_class(decoder).OPTIONS
                   if option.name in values}
        model = Captioner(encoder, self.vocabulary, decoder=decoder, max_length=self.max_length, seed=self.seed,
                          train_backbone=not frozen, **options)
        model.compile(optimizer=Recipe(learning_rate=values["learning_rate"], schedule="constant").optimizer(1, 1))
        return model

    def fit(self, hp, model, x=None, validation_data=None, epochs=1, callbacks=None, initial_epoch=0, verbose="auto",
            **kwargs):
        """Train ``model`` on CaptionDatasets ``x`` and ``validation_data``; returns the History, whose
        every epoch has ``val_bleu4`` and ``val_cider``."""
        from showattend.training import Recipe, steps_per_epoch
        from showattend.tuning.guards import TrialGuard, is_out_of_memory

        for name, data in (("x", x), ("validation_data", validation_data)):
            if not isinstance(data, CaptionDataset):
                raise ValueError(f"CaptionHyperModel.fit needs CaptionDatasets: search(train, validation_data=val, …); "
                                 f"{name} is {type(data).__name__}.")
        cache = self._feature_cache(model, x, validation_data)
        metrics = CaptionMetrics(validation_data, max_images=self.val_images, beam_size=self.val_beam,
                                 feature_cache=cache, seed=self.seed)
        guard = TrialGuard(self.deadline)
        callbacks = [metrics, guard, *(callbacks or []), StopWhenAsked()]
        start, batch_size = model.get_weights(), self.batch_size
        while True:
            try:
                steps = steps_per_epoch(model, x, batch_size, cache)
                self.batch_size_used = batch_size
                model.compile(optimizer=Recipe(learning_rate=hp.get("learning_rate")).optimizer(
                    steps, max(1, epochs - initial_epoch)))
                history = model.fit(x, validation_data=validation_data, epochs=epochs, initial_epoch=initial_epoch,
                                    batch_size=batch_size, feature_cache=cache, callbacks=callbacks, verbose=verbose,
                                    **kwargs)
                return history
            except Exception as error:  # noqa: BLE001  (only out-of-memory errors are handled)
                if not is_out_of_memory(error):
                    raise
                if batch_size < self.batch_size or batch_size < 2:
                    raise kt.errors.FailedTrialError(
                        f"Out of memory at batch size {self.batch_size} and again at {batch_size}: this trial "
                        "fails and the search goes on.") from None
                batch_size //= 2
                print(f"Out of memory at batch size {batch_size * 2}: retrying this trial with {batch_size}.")
                model.set_weights(start)

    def fit_all(self, hp, model, train, val, epochs, verbose="auto"):
        """Train ``model`` on ``train`` and ``val`` together, as ``export_best(retrain=True)`` does.

        No epoch is picked, since nothing is held out: the model is the last epoch's.

        Args:
            hp: The trial's ``keras_tuner.HyperParameters`` (its ``learning_rate`` is used).
            model: A captioner that ``build(hp)`` returned.
            train: The training CaptionDataset.
            val: The validation CaptionDataset, trained on too.
            epochs: How many epochs to train.
            verbose: Keras' ``fit`` verbosity.

        Returns:
            The Keras ``History`` of the training.
        """
        from showattend.training import Recipe, steps_per_epoch

        both = join(train, val)
        cache = self._feature_cache(model, train, val)
        model.compile(optimizer=Recipe(learning_rate=hp.get("learning_rate")).optimizer(
            steps_per_epoch(model, both, self.batch_size, cache), epochs))
        return model.fit(both, epochs=epochs, batch_size=self.batch_size, feature_cache=cache, verbose=verbose)

    def _feature_cache(self, model, train, val):
        """A feature cache of the frozen backbone over ``train`` and ``val`` when they are files; shared by
        every trial with the same backbone, weights and image size (the folder is named by that key)."""
        if model.backbone.trainable or isinstance(train.images, np.ndarray) or isinstance(val.images, np.ndarray):
            return None
        from showattend.features import FeatureCache, backbone_key

        key = json.dumps(backbone_key(model.backbone, self.weights), sort_keys=True)
        root = self.feature_dir or os.path.join(self.project_dir or ".", "features")
        directory = os.path.join(root, f"{model.backbone.name}_{hashlib.sha256(key.encode()).hexdigest()[:12]}")
        return FeatureCache.build(directory, model.backbone, list(train.images) + list(val.images),
                                  weights=self.weights, on_bad_image=train.on_bad_image)

    def settings(self):
        """What a resumed search must share with the one it resumes, besides the space and the data.

        The space holds the tuned and pinned arguments; ``make_tuner`` compares these settings too.

        Returns:
            A JSON-ready dict: backbones, image size, weights, objective, batch size, maximum
            length, validation images and beam, mixed precision, and the vocabulary (its size and a
            hash of its words).
        """
        words = hashlib.sha256("\n".join(self.vocabulary.words).encode()).hexdigest()[:16]
        return {"backbones": self.backbones, "image_size": list(self.image_size),
                "weights": str(self.weights), "objective": self.objective.name, "batch_size": self.batch_size,
                "max_length": self.max_length, "val_images": self.val_images, "val_beam": self.val_beam,
                "mixed_precision": self.mixed_precision, "vocabulary": f"{len(self.vocabulary)} words, {words}"}



def join(first, second):
    """Two CaptionDatasets of the same kind as one (image ids of the second made distinct if they clash)."""
    import dataclasses

    if isinstance(first.images, np.ndarray) != isinstance(second.images, np.ndarray):
        raise ValueError("Cannot join a dataset of arrays with one of files.")
    images = (np.concatenate([first.images, second.images]) if isinstance(first.images, np.ndarray)
              else list(first.images) + list(second.images))
    seen = set(first.image_ids)
    ids = list(first.image_ids) + [f"val:{i}" if i in seen else i for i in second.image_ids]
    objects = None if first.objects is None or second.objects is None else first.objects + second.objects
    return dataclasses.replace(first, images=images, captions=first.captions + second.captions, objects=objects,
                               image_ids=ids)


def _check_disjoint(decoders):
    """Refuse decoders that search an option of the same name: keras-tuner keeps one value per name,
    so one name under two decoders' conditions breaks a search (a KeyError deep in keras-tuner)."""
    owners = {}
    for decoder in decoders:
        always, conditional = decoder_space(decoder)
        for name in [*always, *(n for space in conditional.values() for n in space)]:
            if owners.setdefault(name, decoder) != decoder:
                raise ValueError(f"The {owners[name]} and {decoder} decoders both search an option named {name!r}; "
                                 "one search cannot tune both (keras-tuner keeps one value per name). Give one "
                                 "of them another name for it.")


def _keep(values, name, value):
    """Keep the value of an active hyperparameter (an inactive one's declaration returns None)."""
    if value is not None:
        values[name] = value
