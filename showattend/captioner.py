"""Captioner: a CNN backbone and an attention decoder in one keras.Model, trained and used whole."""
import contextlib
import os

import keras
import numpy as np
from keras import ops

import cnn_backbones
from showattend.data.dataset import CaptionDataset
from showattend.data.images import as_image_list, resize_images
from showattend.data.pipeline import caption_dataset_to_tf, longest_caption
from showattend.data.unreadable import UnreadableImages
from showattend.files import atomic_write
from showattend.signals import at_safe_points, stop_if_asked
from showattend.optimizers import FusedAdam  # registered for loading: a saved model's optimizer may be one
from showattend.captioning import caption_regions, check_decoding, compiled_functions
from showattend.layers.decoder import AttentionDecoder
from showattend.losses import caption_loss
from showattend.text.vocabulary import Vocabulary

ATTENTION_KINDS = ("soft", "hard")


def _as_vocabulary(vocabulary):
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if isinstance(vocabulary, dict) and isinstance(vocabulary.get("words"), list):
        return Vocabulary.from_config(vocabulary)
    raise ValueError("vocabulary must be a showattend.Vocabulary (e.g. Vocabulary.build(captions)), "
                     f"got {type(vocabulary).__name__}.")


@contextlib.contextmanager
def _global_policy(policy):
    """Keras gives a layer made inside another the global dtype policy, not its parent's: the
    Captioner makes its layers under its own (a mixed-precision model reloaded in a float32 session
    stays mixed throughout)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _as_backbone(backbone, image_size):
    if isinstance(backbone, str):
        info = cnn_backbones.backbone_info(backbone)
        size = tuple(image_size or info.default_input_shape[:2])
        return cnn_backbones.create_backbone(backbone, input_shape=(*size, 3))
    if isinstance(backbone, dict):
        return keras.saving.deserialize_keras_object(backbone)
    if isinstance(backbone, keras.Model):
        return backbone
    raise ValueError(f"backbone must be a registered name ({', '.join(cnn_backbones.list_backbones())}) "
                     f"or a keras.Model, got {type(backbone).__name__}.")


@keras.saving.register_keras_serializable(package="showattend")
class Captioner(keras.Model):
    """Show, Attend and Tell: backbone → regions → attention LSTM → words.

    Trains with ``compile()``/``fit()`` (one example per reference caption), captions with
    ``caption()``, and saves whole, vocabulary and image size included (``save``, then
    ``showattend.load_captioner``). Every choice below is saved with the model.

    ``attention="hard"``: each step reads one region sampled from α, trained by the REINFORCE
    surrogate (λ_r, λ_e and a moving-average baseline of the log-likelihood per word, kept in the
    model's non-trainable ``reinforce_baseline``); with probability ``expectation_probability`` a
    minibatch reads the expectation instead.

    Args:
        backbone: a registered backbone's name (``cnn_backbones.list_backbones()``), a
            ``keras.Model`` that maps fixed-size images (H, W, 3) to a grid (h, w, channels), or
            a serialized one (a dict).
        vocabulary: a ``Vocabulary`` (e.g. ``Vocabulary.build(training_captions)``) or its config.
        attention: "soft" (the expectation over regions) or "hard" (one sampled region).
        embed_dim: the size of the word embedding.
        units: the size of the LSTM's state.
        attention_dim: the size of the attention's projections.
        dropout: the dropout rate before the output layer.
        doubly_stochastic: λ of the penalty Σ_i (1 − Σ_t α_ti)²; 0 turns it off.
        gate: whether the context is scaled by the gate β.
        image_size: (height, width) of the images for a backbone given by name (default: the
            backbone's own); for a model, its input size or None.
        train_backbone: whether the backbone's weights train with the decoder.
        max_length: the most words a caption is trained on and written with.
        seed: seeds the dropout, hard attention's sampling and the data's shuffling.
        cell: "lstm" (the paper's), "peephole_lstm", "cifg_lstm" or "gru".
        attention_score: "additive" (the paper's MLP), "dot" or "general".
        deep_output: logits from E y, h and ẑ (True, the paper's) or from h alone.
        init_state: "mean" (from the mean region feature, the paper's) or "zeros".
        reinforce_weight: λ_r of hard attention's REINFORCE term.
        entropy_weight: λ_e of hard attention's entropy term.
        expectation_probability: the probability that a hard-attention minibatch reads the
            expectation instead of sampling.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``, ...).

    Raises:
        ValueError: an unknown ``attention``, ``cell``, ``attention_score`` or ``init_state``, no
            vocabulary or one without words, a ``max_length`` that is not a positive integer, or a
            backbone that does not map fixed-size images to a grid (or an ``image_size`` other
            than its input size).

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", num_images=4)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=16, max_length=4)
        >>> model.image_size, model.grid_shape, model.num_regions
        ((64, 64), (8, 8), 64)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(data, epochs=1, batch_size=16, verbose=0)
        >>> sorted(history.history)
        ['attention_penalty', 'cross_entropy', 'loss']
        >>> len(model.caption(data.images[:2], beam_size=1))
        2
    """

    def __init__(self, backbone="small_vgg", vocabulary=None, attention="soft", embed_dim=64, units=256,
                 attention_dim=128, dropout=0.5, doubly_stochastic=1.0, gate=True, image_size=None,
                 train_backbone=True, max_length=30, seed=None, cell="lstm", attention_score="additive",
                 deep_output=True, init_state="mean", reinforce_weight=0.1, entropy_weight=0.002,
                 expectation_probability=0.5, **kwargs):
        super().__init__(**kwargs)
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"Unknown attention {attention!r}. Accepted: {', '.join(ATTENTION_KINDS)}.")
        if vocabulary is None:
            raise ValueError("A Captioner needs a vocabulary: Vocabulary.build(training_captions).")
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 1:
            raise ValueError("max_length must be a positive integer (the most words a caption is trained on and "
                             f"written with), got {max_length!r}.")
        self.vocabulary = _as_vocabulary(vocabulary)
        self.vocabulary.check_has_words()  # a model of special tokens alone could only ever write <unk>
        with _global_policy(self.dtype_policy):
            self._make_layers(backbone, image_size, attention, embed_dim, units, attention_dim, dropout, gate, seed,
                              cell, attention_score, deep_output, init_state, expectation_probability)
        self.doubly_stochastic = float(doubly_stochastic)
        self.max_length = int(max_length)
        self.seed = seed
        self.backbone.trainable = bool(train_backbone)
        self.reinforce_weight, self.entropy_weight = float(reinforce_weight), float(entropy_weight)
        self.cross_entropy_tracker = keras.metrics.Mean(name="cross_entropy")
        self.attention_penalty_tracker = keras.metrics.Mean(name="attention_penalty")
        self.reinforce_tracker = keras.metrics.Mean(name="reinforce") if attention == "hard" else None
        object.__setattr__(self, "_generation_functions", None)  # showattend.captioning's, once traced
        self.built = True  # every sublayer is built above, so weights exist before any call or load

    def _make_layers(self, backbone, image_size, attention, embed_dim, units, attention_dim, dropout, gate, seed,
                     cell, attention_score, deep_output, init_state, expectation_probability):
        """The backbone, the decoder (built) and hard attention's baseline, in this model's policy."""
        self.backbone = _as_backbone(backbone, image_size)
        grid = self.backbone.output_shape
        size = self.backbone.input_shape[1:3]
        if len(grid) != 4 or None in grid[1:] or None in size:
            raise ValueError("The backbone must map fixed-size images (H, W, 3) to a grid (h, w, channels); "
                             f"it maps {self.backbone.input_shape} to {grid}.")
        if image_size is not None and tuple(image_size) != tuple(size):
            raise ValueError(f"image_size {tuple(image_size)} differs from the backbone's input size {tuple(size)}.")
        self.image_size, self.grid_shape, self.feature_dim = tuple(size), tuple(grid[1:3]), grid[3]
        self.attention_kind = attention
        self.decoder = AttentionDecoder(len(self.vocabulary), embed_dim, units, attention_dim, dropout, gate, seed,
                                        cell=cell, attention_score=attention_score, deep_output=deep_output,
                                        init_state=init_state, hard=attention == "hard",
                                        expectation_probability=expectation_probability, name="decoder")
        if attention == "hard":
            self.reinforce_baseline = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                      aggregation="only_first_replica", name="reinforce_baseline")
        self.decoder.build((None, self.num_regions, self.feature_dim))

    @property
    def num_regions(self):
        return self.grid_shape[0] * self.grid_shape[1]

    def encode(self, images, training=None):
        """Images (batch, H, W, 3) in 0..255 → region features (batch, regions, channels).

        Args:
            images: images at the model's ``image_size``, numbers in 0..255.
            training: whether the backbone runs in training mode (batch normalisation, dropout).

        Returns:
            A float tensor (batch, regions, channels), regions = the grid's h·w in reading order.
        """
        grid = self.backbone(ops.cast(images, "float32"), training=training)  # (batch, h, w, channels)
        return ops.reshape(grid, (-1, self.num_regions, self.feature_dim))

    def regions(self, features):
        """Backbone grids (batch, h, w, C), e.g. from a feature cache → region features (batch, regions, C).

        Args:
            features: the backbone's grids (batch, h, w, C).

        Returns:
            A float32 tensor (batch, h·w, C).
        """
        return ops.reshape(ops.cast(features, "float32"), (-1, self.num_regions, self.feature_dim))

    def call(self, inputs, training=None):
        """``{"images": (batch, H, W, 3), "tokens": (batch, steps)}`` → logits, α and β per step.

        ``tokens`` may also be (batch, captions, steps), several captions per image: the image is
        encoded once and the outputs have batch·captions rows. ``{"features": (batch, h, w, C)}``,
        the backbone's grids (from a feature cache), may stand in for the images.
        """
        if "features" in inputs:
            features = self.regions(inputs["features"])
        else:
            features = self.encode(inputs["images"], training=training)
        tokens = inputs["tokens"]
        if len(tokens.shape) == 3:
            features = ops.repeat(features, tokens.shape[1], axis=0)  # (batch·captions, regions, dim)
            tokens = ops.reshape(tokens, (-1, tokens.shape[2]))
        return self.decoder(features, tokens, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The global batch's mean over captions of the masked cross-entropy summed over words, plus
        λ Σ_i (1 − Σ_t α_ti)² (and hard attention's REINFORCE term): ``showattend.losses.caption_loss``."""
        return caption_loss(self, y, y_pred, training)

    # --- training -------------------------------------------------------------------------------

    def make_dataset(self, dataset, batch_size=64, shuffle=True, seed=None, feature_cache=None, deterministic=True,
                     unreadable=None):
        """A tf.data pipeline of this model's inputs from a CaptionDataset.

        Every reference caption is one example, seen once per epoch; an image's captions share a
        batch of about ``batch_size`` captions, so the backbone runs once per image. Captions are
        padded to the longest (at most ``max_length`` words). When shuffling, the last partial
        batch is dropped (a different one each epoch), so that every step has one shape. Images
        are decoded in parallel and prefetched.

        Args:
            dataset: a CaptionDataset (arrays or image files).
            batch_size: about how many captions a batch holds (a positive integer).
            shuffle: shuffle the images every epoch (and drop the last partial batch).
            seed: the shuffling's seed (default: the model's ``seed``).
            feature_cache: a ``showattend.features.FeatureCache`` of this model's frozen backbone:
                the batches then hold the cached grids instead of the images.
            deterministic: False lets slowly decoded images be overtaken (the order then varies
                from run to run).
            unreadable: a ``showattend.data.unreadable.UnreadableImages`` that meets the files
                that cannot be read (see ``caption_dataset_to_tf``), or None.

        Returns:
            A ``tf.data.Dataset`` of ``({"images" or "features", "tokens"}, targets)`` batches.

        Raises:
            ValueError: a ``batch_size`` that is not a positive integer, a ``feature_cache`` with
                a trainable backbone, or a cache made by another backbone.
        """
        from showattend.generation import check_search

        check_search(batch_size, 1)  # batch_size: a positive integer, named if not
        if feature_cache is not None:
            if self.backbone.trainable:
                raise ValueError("Cached features need a frozen backbone: build the Captioner with "
                                 "train_backbone=False.")
            feature_cache.check(self.backbone)
        longest = longest_caption(dataset, self.vocabulary)
        return caption_dataset_to_tf(dataset, self.vocabulary, self.image_size, batch_size=batch_size,
                                     shuffle=shuffle, seed=self.seed if seed is None else seed,
                                     max_length=min(self.max_length, longest), drop_remainder=shuffle,
                                     group_by_image=True, feature_cache=feature_cache, deterministic=deterministic,
                                     unreadable=unreadable)

    def compile(self, optimizer="adam", jit_compile="auto", **kwargs):
        """Keras ``compile`` without a loss (the Captioner computes its own).

        ``jit_compile="auto"`` is Keras' choice: XLA on a GPU, not on a CPU, where it was no faster
        (see the benchmarks). Under a strategy with several replicas (``MirroredStrategy``)
        "auto" is False, and True is refused: Keras 3 cannot run XLA across the replicas' devices.

        ``optimizer="adam"`` is :class:`showattend.optimizers.FusedAdam`: Keras' Adam with its
        defaults, updated by TensorFlow's fused kernel (the same arithmetic, faster).

        Args:
            optimizer: an optimizer or its name; "adam" is ``FusedAdam``.
            jit_compile: "auto", True or False (see above).
            **kwargs: Keras ``compile``'s other arguments (``metrics``, ``steps_per_execution``, ...);
                no ``loss``.

        Raises:
            ValueError: when a ``loss`` is given.
        """
        from showattend.distribution import jit_compile_for_strategy

        if kwargs.pop("loss", None) is not None:
            raise ValueError("A Captioner computes its own loss; compile it without `loss`.")
        if isinstance(optimizer, str) and optimizer.lower() == "adam":
            optimizer = FusedAdam()
        super().compile(optimizer=optimizer, jit_compile=jit_compile_for_strategy(jit_compile), **kwargs)

    def compile_from_config(self, config):
        """Restore the compile settings of a saved model (Keras skips this for a custom compile)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**{k: v for k, v in config.items() if k != "loss"})
        if self.optimizer is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, callbacks=None,
            feature_cache=None, **kwargs):
        """Keras ``fit``; ``x`` and ``validation_data`` may also be CaptionDatasets.

        With a ``feature_cache`` (``showattend.features.FeatureCache`` of this model's frozen
        backbone) the CaptionDatasets train from cached features instead of images. A
        ``CaptionMetrics`` callback is moved ahead of the others, so that they all read its
        ``val_bleu4`` and ``val_cider``. An image file that cannot be decoded is an error that names
        it, or, for a dataset with ``on_bad_image="skip"``, is left out and counted in one warning.
        ``deterministic=False`` lets slowly decoded images be overtaken (see ``make_dataset``).
        """
        from showattend.callbacks import CaptionMetrics, StopWhenAsked

        passes = []  # one UnreadableImages per dataset this fit decodes from files
        batch = 64 if batch_size is None else batch_size  # 0 is refused by name, not taken as 64
        deterministic = kwargs.pop("deterministic", True)
        if isinstance(x, CaptionDataset):
            x = self.make_dataset(x, batch, shuffle=kwargs.pop("shuffle", True), feature_cache=feature_cache,
                                  deterministic=deterministic, unreadable=_unreadable_for(x, passes))
            batch_size, kwargs["shuffle"] = None, False  # the pipeline shuffles
        if isinstance(validation_data, CaptionDataset):
            validation_data = self.make_dataset(validation_data, batch, shuffle=False, feature_cache=feature_cache,
                                                unreadable=_unreadable_for(validation_data, passes))
        callbacks = sorted(callbacks or [], key=lambda c: not isinstance(c, CaptionMetrics)) + [StopWhenAsked()]
        with at_safe_points(), _reading(passes):
            return super().fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation_data,
                               callbacks=callbacks, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, feature_cache=None, **kwargs):
        """Keras ``evaluate`` (the loss); ``x`` may also be a CaptionDataset. For caption metrics see
        ``showattend.evaluation.evaluate``."""
        passes = []
        if isinstance(x, CaptionDataset):
            batch = 64 if batch_size is None else batch_size  # 0 is refused by name, not taken as 64
            x = self.make_dataset(x, batch, shuffle=False, feature_cache=feature_cache,
                                  unreadable=_unreadable_for(x, passes))
            batch_size = None
        from showattend.callbacks import StopWhenAsked

        if not isinstance(kwargs.get("callbacks"), keras.callbacks.CallbackList):  # fit's validation has fit's
            kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [StopWhenAsked()]
        with at_safe_points(), _reading(passes):
            return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    # --- captioning -----------------------------------------------------------------------------

    def caption(self, images, beam_size=3, max_length=None, return_attention=False, batch_size=32,
                sample=False, argmax=False):
        """Caption images: file paths, PIL images, uint8 arrays (H, W[, C]) or (N, H, W, C), or lists.

        Returns one ``Caption`` per image; ``beam_size=1`` is greedy search. A hard-attention model
        reads the expectation of α by default (as the paper does at test time); ``sample=True``
        reads a region sampled from α at each step, ``argmax=True`` the most likely region, and the
        captions then carry the regions read (``Caption.regions``).

        Args:
            images: what to caption (see above); arrays of any size, numbers in 0..255 (floats are
                rounded, values outside 0..255 clipped; NaN and ±inf are refused). Image files may
                hold at most ``showattend.data.images.max_image_pixels()`` pixels.
            beam_size: beams kept per image, 1 to the vocabulary's size less 2 (``<pad>`` and
                ``<start>`` are never chosen); more is refused, not clamped.
            max_length: the most words a caption gets (default: the model's ``max_length``); a
                larger value than the model's is allowed (the LSTM has no fixed length).
            return_attention: keep each word's attention map and gate value.
            batch_size: images read, encoded and searched at a time (a positive integer).
            sample: a hard-attention model reads a region sampled from α at each step.
            argmax: a hard-attention model reads the most likely region at each step.

        Returns:
            A list of ``Caption``, one per image, in order.

        Raises:
            ValueError: a bad image (naming it, or its shape, dtype or non-finite values) or an
                option out of range (naming its value and what is accepted).
            FileNotFoundError: a path with no file.
            showattend.data.BadImageError: a file that cannot be decoded, or that is too large
                (``ImageTooLargeError``).

        Examples:
            >>> from PIL import Image
            >>> from showattend import Captioner, Vocabulary
            >>> from showattend.datasets import shapes
            >>> data = shapes("test", num_images=1)
            >>> Image.fromarray(data.images[0]).save("shapes.png")
            >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=16)
            >>> (caption,) = model.caption("shapes.png", beam_size=1, max_length=5, return_attention=True)
            >>> len(caption.tokens) <= 5, caption.attention.shape[1:], len(caption.beta) == len(caption.tokens)
            (True, (8, 8), True)
        """
        max_length, reading = check_decoding(self, beam_size, max_length, batch_size, sample, argmax)
        if not isinstance(images, (list, tuple)):
            images = as_image_list(images, min_size=self.image_size)
        elif not images:
            as_image_list(images)  # the error for an empty list
        encode = compiled_functions(self)[0]
        captions = []
        for first in range(0, len(images), batch_size):  # files are read a batch at a time
            arrays = as_image_list(list(images[first:first + batch_size]), min_size=self.image_size)
            stop_if_asked()  # a signal noted during a long captioning stops it here
            features = encode(resize_images(arrays, self.image_size))
            captions.extend(caption_regions(self, features, beam_size, max_length, return_attention, reading))
        return captions

    def caption_features(self, features, beam_size=3, max_length=None, return_attention=False, batch_size=32,
                         sample=False, argmax=False):
        """``caption`` from the backbone's grids (images, h, w, C), e.g. read from a feature cache.

        The options are ``caption``'s, with the same limits.

        Args:
            features: the backbone's grids (images, h, w, C), as ``FeatureCache.read`` gives them.
            beam_size: beams kept per image (1: greedy search).
            max_length: the most words a caption gets (default: the model's ``max_length``).
            return_attention: keep each word's attention map and gate value.
            batch_size: grids searched at a time (a positive integer).
            sample: a hard-attention model reads a region sampled from α at each step.
            argmax: a hard-attention model reads the most likely region at each step.

        Returns:
            A list of ``Caption``, one per grid.

        Raises:
            ValueError: grids of the wrong shape (naming the expected one), or an option out of range.

        Examples:
            >>> from showattend import Captioner, Vocabulary
            >>> from showattend.datasets import shapes
            >>> data = shapes("test", num_images=2)
            >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=16,
            ...                   train_backbone=False)
            >>> grids = model.backbone.predict(data.images, verbose=0)
            >>> grids.shape
            (2, 8, 8, 64)
            >>> len(model.caption_features(grids, beam_size=1, max_length=5))
            2
        """
        features = np.asarray(features)
        if features.ndim != 4 or features.shape[1:] != (*self.grid_shape, self.feature_dim):
            raise ValueError(f"Expected backbone grids of shape (images, {self.grid_shape[0]}, {self.grid_shape[1]}, "
                             f"{self.feature_dim}), got {features.shape}.")
        max_length, reading = check_decoding(self, beam_size, max_length, batch_size, sample, argmax)
        captions = []
        for first in range(0, len(features), batch_size):
            regions = self.regions(features[first:first + batch_size])
            captions.extend(caption_regions(self, regions, beam_size, max_length, return_attention, reading))
        return captions

    # --- saving ---------------------------------------------------------------------------------

    def get_config(self):
        d = self.decoder
        return {**super().get_config(), "backbone": keras.saving.serialize_keras_object(self.backbone),
                "vocabulary": self.vocabulary.get_config(), "attention": self.attention_kind,
                "embed_dim": d.embed_dim, "units": d.units, "attention_dim": d.attention_dim,
                "dropout": d.dropout_rate, "doubly_stochastic": self.doubly_stochastic, "gate": d.gate,
                "image_size": list(self.image_size), "train_backbone": self.backbone.trainable,
                "max_length": self.max_length, "seed": self.seed, "cell": d.cell_kind,
                "attention_score": d.attention_score, "deep_output": d.use_deep_output,
                "init_state": d.init_state_kind, "reinforce_weight": self.reinforce_weight,
                "entropy_weight": self.entropy_weight, "expectation_probability": d.expectation_probability}

    def save(self, filepath, overwrite=True, **kwargs):
        """Save as ``.keras``, atomically: a crash mid-save never leaves a broken file behind.

        Args:
            filepath: the file to write; its name must end with ``.keras``.
            overwrite: replace an existing file (else refuse).
            **kwargs: passed to ``keras.Model.save``.

        Raises:
            ValueError: a name that does not end with ``.keras``.
            FileExistsError: when the file exists and ``overwrite`` is False.
        """
        filepath = os.fspath(filepath)
        if not filepath.endswith(".keras"):
            raise ValueError(f"Save a Captioner to a '.keras' file, got {filepath!r}.")
        if os.path.exists(filepath) and not overwrite:
            raise FileExistsError(f"{filepath} exists and overwrite=False.")
        atomic_write(filepath, lambda partial: super(Captioner, self).save(partial, overwrite=True, **kwargs))


def _unreadable_for(dataset, passes):
    """The UnreadableImages of a dataset read from files (added to ``passes``), else None."""
    if isinstance(dataset.images, np.ndarray):
        return None
    passes.append(UnreadableImages(dataset.on_bad_image))
    return passes[-1]


@contextlib.contextmanager
def _reading(passes):
    """An unreadable file met by one of ``passes`` is named if it stops the run, and counted if skipped."""
    with contextlib.ExitStack() as stack:
        for unreadable in passes:
            stack.enter_context(unreadable.raising())
        yield
    for unreadable in passes:
        unreadable.warn(stacklevel=4)
