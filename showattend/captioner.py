"""Captioner: a CNN backbone and a decoder that attends over its regions, in one keras.Model."""
import contextlib
import os

import keras
import numpy as np
from keras import ops

import cnn_backbones
from showattend.data.images import as_image_list
from showattend.data.resize import resize_images
from showattend.data.model_inputs import keras_inputs, model_dataset
from showattend.decoders import Decoder, decoder_class
from showattend.files import atomic_write
from showattend.generation import captions_of, check_decoding, compiled_search
from showattend.optimizers import FusedAdam  # registered for loading: a saved model's optimizer may be one
from showattend.signals import stop_if_asked
from showattend.text.vocabulary import Vocabulary


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


def _as_decoder(decoder, vocab_size, seed, options, grid_shape):
    if isinstance(decoder, (Decoder, dict)):
        if options and isinstance(decoder, dict):
            raise ValueError(f"Unknown arguments {sorted(options)}: a saved decoder holds its own options.")
        if options:
            raise ValueError(f"Options {sorted(options)} go to the decoder's constructor when the decoder is given "
                             "as a layer; pass them there, or give its name (decoder='lstm', units=...).")
        if isinstance(decoder, dict):
            decoder = keras.saving.deserialize_keras_object(decoder)
        if decoder.vocab_size != vocab_size:
            raise ValueError(f"The decoder writes {decoder.vocab_size} words but the vocabulary has {vocab_size}.")
        if decoder.uses_grid and decoder.grid_shape is None and not decoder.built:
            decoder.grid_shape = tuple(grid_shape)
        elif decoder.uses_grid and decoder.grid_shape != tuple(grid_shape):
            raise ValueError(f"The decoder was made for a {decoder.grid_shape} grid but the backbone gives "
                             f"{tuple(grid_shape)}.")
        return decoder
    if isinstance(decoder, str):
        cls = decoder_class(decoder)
        grid = {"grid_shape": tuple(grid_shape)} if cls.uses_grid else {}
        return cls(vocab_size, seed=seed, name="decoder", **grid, **options)
    raise ValueError(f"decoder must be a registered name (showattend.decoders.list_decoders()) or a "
                     f"showattend.decoders.Decoder, got {type(decoder).__name__}.")


def _padded_rows(images, batch_size):
    """The rows each batch of a search over ``images`` images is padded to, so that few shapes are traced.

    Several batches: all are ``batch_size`` rows (the last one padded). One batch: the next power
    of two, at most ``batch_size``, so that callers whose counts vary (a server's batches, a loop
    over folders) trace the search for 1, 2, 4, 8, … rows rather than for every count.
    """
    if images > batch_size:
        return batch_size
    return min(batch_size, 1 << max(0, images - 1).bit_length())


@keras.saving.register_keras_serializable(package="showattend")
class Captioner(keras.Model):
    """Show, Attend and Tell: backbone → regions → a decoder that attends over them → words.

    Trains with ``compile()``/``fit()`` (one example per reference caption), captions with
    ``caption()``, and saves whole, vocabulary and image size included (``save``, then
    ``showattend.load_captioner``). The decoder is a part: ``decoder="lstm"`` (the paper's, see
    ``showattend.decoders.LSTMDecoder`` for its options: ``attention``, ``units``, ``cell``, …)
    with its options given here, or a ``showattend.decoders.Decoder`` layer.

    Args:
        backbone: a registered backbone's name (``cnn_backbones.list_backbones()``), a
            ``keras.Model`` that maps fixed-size images (H, W, 3) to a grid (h, w, channels), or
            a serialized one (a dict).
        vocabulary: a ``Vocabulary`` (e.g. ``Vocabulary.build(training_captions)``) or its config.
        decoder: a registered decoder's name (``showattend.decoders.list_decoders()``), a
            ``Decoder`` layer, or a serialized one (a dict).
        image_size: (height, width) of the images for a backbone given by name (default: the
            backbone's own); for a model, its input size or None.
        train_backbone: whether the backbone's weights train with the decoder.
        max_length: the most words a caption is trained on and written with.
        seed: seeds the decoder's dropout and sampling, and the data's shuffling.
        **kwargs: the decoder's options, when it is given by name (e.g. ``attention="hard"``,
            ``units=512``), and ``keras.Model``'s arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: an unknown decoder or decoder option (naming those accepted), a bad value of
            one, no vocabulary or one without words, a ``max_length`` that is not a positive
            integer, or a backbone that does not map fixed-size images to a grid (or an
            ``image_size`` other than its input size).

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", num_images=4)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=16, max_length=4)
        >>> model.image_size, model.grid_shape, model.num_regions, model.decoder.describe()
        ((64, 64), (8, 8), 64, 'soft-attention LSTM')
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(data, epochs=1, batch_size=16, verbose=0)
        >>> sorted(history.history)
        ['attention_penalty', 'cross_entropy', 'loss']
        >>> len(model.caption(data.images[:2], beam_size=1))
        2
    """

    def __init__(self, backbone="small_vgg", vocabulary=None, decoder="lstm", image_size=None, train_backbone=True,
                 max_length=30, seed=None, **kwargs):
        model_kwargs = {k: kwargs.pop(k) for k in ("name", "dtype", "trainable") if k in kwargs}
        super().__init__(**model_kwargs)
        if vocabulary is None:
            raise ValueError("A Captioner needs a vocabulary: Vocabulary.build(training_captions).")
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 1:
            raise ValueError("max_length must be a positive integer (the most words a caption is trained on and "
                             f"written with), got {max_length!r}.")
        self.vocabulary = _as_vocabulary(vocabulary)
        self.vocabulary.check_has_words()  # a model of special tokens alone could only ever write <unk>
        self.max_length, self.seed = int(max_length), seed
        with _global_policy(self.dtype_policy):
            self.backbone = _as_backbone(backbone, image_size)
            self._check_grid(image_size)
            self.decoder = _as_decoder(decoder, len(self.vocabulary), seed, kwargs, self.grid_shape)
            self._check_positions()
            if not self.decoder.built:
                self.decoder.build((None, self.num_regions, self.feature_dim))
        self.backbone.trainable = bool(train_backbone)
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in ("cross_entropy", *self.decoder.loss_names)]
        object.__setattr__(self, "_compiled", None)  # the encoder and the search, traced once (_compiled_functions)
        self.built = True  # every sublayer is built above, so weights exist before any call or load

    def _check_grid(self, image_size):
        grid, size = self.backbone.output_shape, self.backbone.input_shape[1:3]
        if len(grid) != 4 or None in grid[1:] or None in size:
            raise ValueError("The backbone must map fixed-size images (H, W, 3) to a grid (h, w, channels); "
                             f"it maps {self.backbone.input_shape} to {grid}.")
        if image_size is not None and tuple(image_size) != tuple(size):
            raise ValueError(f"image_size {tuple(image_size)} differs from the backbone's input size {tuple(size)}.")
        self.image_size, self.grid_shape, self.feature_dim = tuple(size), tuple(grid[1:3]), grid[3]

    def _check_positions(self):
        steps = self.max_length + 1  # training reads <start> and up to max_length words
        if self.decoder.max_positions is not None and steps > self.decoder.max_positions:
            raise ValueError(f"max_length={self.max_length} needs {steps} positions (<start> and the words), more than "
                             f"the {self.decoder.max_positions} of the {self.decoder.describe()} decoder; accepted: "
                             f"max_length up to {self.decoder.max_positions - 1}, or a decoder with more positions.")

    @property
    def num_regions(self):
        return self.grid_shape[0] * self.grid_shape[1]

    def encode(self, images, training=None):
        """Images (batch, H, W, 3) in 0..255 → region features (batch, regions, channels).

        Args:
            images: images at the model's ``image_size``, numbers in 0..255.
            training: whether the backbone runs in training mode (batch normalisation, dropout).

        Returns:
            A float32 tensor (batch, h·w, channels), the grid's regions in reading order.
        """
        grid = self.backbone(ops.cast(images, "float32"), training=training)  # (batch, h, w, channels)
        return self.regions(grid)

    def regions(self, features):
        """Backbone grids (batch, h, w, C), e.g. from a feature cache → region features (batch, h·w, C).

        Args:
            features: the backbone's grids (batch, h, w, C).

        Returns:
            A float32 tensor (batch, h·w, C).
        """
        return ops.reshape(ops.cast(features, "float32"), (-1, self.num_regions, self.feature_dim))

    def call(self, inputs, training=None):
        """``{"images": (batch, H, W, 3), "tokens": (batch, steps)}`` → the decoder's outputs per step.

        ``tokens`` may also be (batch, captions, steps), several captions per image: the image is
        encoded once and the outputs have batch·captions rows. ``{"features": (batch, h, w, C)}``,
        the backbone's grids (from a feature cache), may stand in for the images.
        """
        features = self.regions(inputs["features"]) if "features" in inputs else self.encode(inputs["images"], training)
        tokens = inputs["tokens"]
        if len(tokens.shape) == 3:
            features = ops.repeat(features, tokens.shape[1], axis=0)  # (batch·captions, regions, dim)
            tokens = ops.reshape(tokens, (-1, ops.shape(tokens)[2]))
        return self.decoder(features, tokens, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The global batch's mean over captions of the masked cross-entropy summed over words, plus
        the decoder's own terms (``showattend.losses.caption_loss``)."""
        from showattend.losses import caption_loss

        loss, parts = caption_loss(self.decoder, self.vocabulary.pad_id, y, y_pred, training)
        for tracker in self.loss_trackers:
            tracker.update_state(parts[tracker.name][0], sample_weight=parts[tracker.name][1])
        return loss

    def make_dataset(self, dataset, batch_size=64, shuffle=True, **options):
        """This model's tf.data pipeline of a CaptionDataset, as ``fit`` builds it.

        Args:
            dataset: a CaptionDataset.
            batch_size: about how many captions a batch holds.
            shuffle: shuffle the images every epoch (and drop the last partial batch).
            **options: ``seed``, ``feature_cache``, ``deterministic`` and ``unreadable`` of
                ``showattend.data.model_inputs.model_dataset``, which documents the batches.

        Returns:
            A ``tf.data.Dataset`` of ``({"images" or "features", "tokens"}, targets)`` batches.
        """
        return model_dataset(self, dataset, batch_size, shuffle, **options)

    def compile(self, optimizer="adam", jit_compile="auto", **kwargs):
        """Keras ``compile`` without a loss (the Captioner computes its own).

        ``jit_compile="auto"`` is Keras' choice: XLA on a GPU, not on a CPU, where it was no faster
        (see the benchmarks). Under a strategy with several replicas (``MirroredStrategy``) "auto" is
        False, and True is refused: Keras 3 cannot run XLA across the replicas' devices.
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

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, feature_cache=None, **kwargs):
        """Keras ``fit``; ``x`` and ``validation_data`` may also be CaptionDatasets (read with
        ``feature_cache``, a ``FeatureCache`` of this model's frozen backbone, if given): see
        ``showattend.data.model_inputs.keras_inputs``."""
        with keras_inputs(self, x, validation_data, batch_size, feature_cache, kwargs) as (x, validation_data, batch):
            self._build_optimizer()
            return super().fit(x, y, batch_size=batch, epochs=epochs, validation_data=validation_data, **kwargs)

    def _build_optimizer(self):
        """Make the optimizer's variables before the first step is traced. Made during the trace,
        they make TensorFlow trace the whole step a second time (a tiny captioner's first epoch:
        4 s of 10)."""
        optimizer = getattr(self, "optimizer", None)  # None before compile: Keras' fit then says to compile
        if optimizer is not None and not optimizer.built and self.built:
            with self.distribute_strategy.scope():
                optimizer.build(self.trainable_variables)

    def evaluate(self, x=None, y=None, batch_size=None, feature_cache=None, **kwargs):
        """Keras ``evaluate`` (the loss); ``x`` may also be a CaptionDataset. For caption metrics see
        ``showattend.evaluation.evaluate``."""
        with keras_inputs(self, x, None, batch_size, feature_cache, kwargs, fit=False) as (x, _, batch):
            return super().evaluate(x, y, batch_size=batch, **kwargs)

    # --- captioning -----------------------------------------------------------------------------

    def caption(self, images, beam_size=3, max_length=None, return_attention=False, batch_size=32,
                sample=False, argmax=False, return_beams=False):
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
                larger value than the model's is allowed where the decoder has no fixed length.
            return_attention: keep each word's attention map and gate value.
            batch_size: images read, encoded and searched at a time (a positive integer).
            sample: a hard-attention model reads a region sampled from α at each step.
            argmax: a hard-attention model reads the most likely region at each step.
            return_beams: give each caption the search's best captions of its image, best first
                (``Caption.beams``: up to ``beam_size``, the caption itself first).

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
        settings = self._decoding(beam_size, max_length, batch_size, sample, argmax)
        if not isinstance(images, (list, tuple)):
            images = as_image_list(images, min_size=self.image_size)
        elif not images:
            as_image_list(images)  # the error for an empty list
        encode = self._compiled_functions()[0]
        captions = []
        for first in range(0, len(images), batch_size):  # files are read a batch at a time
            arrays = as_image_list(list(images[first:first + batch_size]), min_size=self.image_size)
            stop_if_asked()  # a signal noted during a long captioning stops it here
            captions += self._search(encode(resize_images(arrays, self.image_size)), return_attention, *settings,
                                     return_beams=return_beams, pad_to=_padded_rows(len(images), batch_size))
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
        settings = self._decoding(beam_size, max_length, batch_size, sample, argmax)
        captions = []
        for first in range(0, len(features), batch_size):
            captions += self._search(self.regions(features[first:first + batch_size]), return_attention, *settings,
                                     pad_to=_padded_rows(len(features), batch_size))
        return captions

    def _decoding(self, beam_size, max_length, batch_size, sample, argmax):
        max_length = self.max_length if max_length is None else max_length
        return beam_size, max_length, check_decoding(self.decoder, self.vocabulary, beam_size, max_length, batch_size,
                                                     sample, argmax)

    def _search(self, regions, return_attention, beam_size, max_length, reading, return_beams=False, pad_to=0):
        """The compiled search over a batch of regions, padded (its last image repeated) to ``pad_to``
        rows: a trace costs seconds, a few repeated rows milliseconds (see ``_padded_rows``)."""
        search = self._compiled_functions()[1]
        count = int(regions.shape[0])
        if count < pad_to:
            regions = ops.concatenate([regions, ops.repeat(regions[-1:], pad_to - count, axis=0)], axis=0)
        found = search(regions, int(beam_size), int(max_length), reading, bool(return_attention))
        return captions_of(found, self.vocabulary, self.grid_shape, return_attention, reading, return_beams)[:count]

    def _compiled_functions(self):
        """The encoder and the whole caption search as tf.functions, traced once and kept."""
        if self._compiled is None:
            import tensorflow as tf

            encode = tf.function(lambda images: self.encode(images, training=False), reduce_retracing=True)
            object.__setattr__(self, "_compiled", (encode, compiled_search(self.decoder, self.vocabulary)))
        return self._compiled

    # --- saving ---------------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "backbone": keras.saving.serialize_keras_object(self.backbone),
                "vocabulary": self.vocabulary.get_config(), "decoder": keras.saving.serialize_keras_object(self.decoder),
                "image_size": list(self.image_size), "train_backbone": self.backbone.trainable,
                "max_length": self.max_length, "seed": self.seed}

    def load_own_variables(self, store):
        """Keras' loading of the model's own variables; a file saved before the decoder became a part
        keeps hard attention's baseline here, and it goes to the decoder's."""
        if len(store.keys()) == 1 and not self._trainable_variables + self._non_trainable_variables:
            self.decoder.reinforce_baseline.assign(store["0"])
            return
        super().load_own_variables(store)

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
