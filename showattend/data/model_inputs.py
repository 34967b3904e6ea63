"""A Captioner's ``fit`` and ``evaluate`` inputs from CaptionDatasets: the tf.data pipeline at the
model's image size and vocabulary, and the files that cannot be read, named or counted."""
import contextlib

import numpy as np

from showattend.data.dataset import CaptionDataset
from showattend.data.pipeline import caption_dataset_to_tf, longest_caption
from showattend.data.unreadable import UnreadableImages

__all__ = ["keras_inputs", "model_dataset"]


def model_dataset(model, dataset, batch_size=64, shuffle=True, seed=None, feature_cache=None, deterministic=True,
                  unreadable=None):
    """A tf.data pipeline of ``model``'s inputs from a CaptionDataset (``Captioner.make_dataset``).

    Every reference caption is one example, seen once per epoch; an image's captions share a batch
    of about ``batch_size`` captions, so the backbone runs once per image. Captions are padded to
    the longest (at most the model's ``max_length`` words). When shuffling, the last partial batch
    is dropped (a different one each epoch), so that every step has one shape. Images are decoded
    in parallel and prefetched.

    Args:
        model: the ``Captioner`` (its vocabulary, image size, ``max_length``, seed and backbone).
        dataset: a CaptionDataset (arrays or image files).
        batch_size: about how many captions a batch holds (a positive integer).
        shuffle: shuffle the images every epoch (and drop the last partial batch).
        seed: the shuffling's seed (default: the model's ``seed``).
        feature_cache: a ``showattend.features.FeatureCache`` of the model's frozen backbone: the
            batches then hold the cached grids instead of the images.
        deterministic: False lets slowly decoded images be overtaken (the order then varies from
            run to run).
        unreadable: a ``showattend.data.unreadable.UnreadableImages`` that meets the files that
            cannot be read (see ``caption_dataset_to_tf``), or None.

    Returns:
        A ``tf.data.Dataset`` of ``({"images" or "features", "tokens"}, targets)`` batches.

    Raises:
        ValueError: a ``batch_size`` that is not a positive integer, a ``feature_cache`` with a
            trainable backbone, or a cache made by another backbone.

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 8, image_size=32)  # 4 captions an image
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), image_size=(32, 32), units=16)
        >>> inputs, targets = next(iter(model_dataset(model, data, batch_size=8, shuffle=False)))
        >>> tuple(inputs["images"].shape), tuple(inputs["tokens"].shape)[:2]  # 2 images × 4 captions
        ((2, 32, 32, 3), (2, 4))
    """
    from showattend.generation import check_search

    check_search(batch_size, 1)  # batch_size: a positive integer, named if not
    if feature_cache is not None:
        if model.backbone.trainable:
            raise ValueError("Cached features need a frozen backbone: build the Captioner with train_backbone=False.")
        feature_cache.check(model.backbone)
    longest = longest_caption(dataset, model.vocabulary)
    return caption_dataset_to_tf(dataset, model.vocabulary, model.image_size, batch_size=batch_size, shuffle=shuffle,
                                 seed=model.seed if seed is None else seed,
                                 max_length=min(model.max_length, longest), drop_remainder=shuffle,
                                 group_by_image=True, feature_cache=feature_cache, deterministic=deterministic,
                                 unreadable=unreadable)


@contextlib.contextmanager
def keras_inputs(model, x, validation_data=None, batch_size=None, feature_cache=None, options=None, fit=True):
    """Keras ``fit``/``evaluate`` arguments for ``model``, with CaptionDatasets made pipelines.

    A CaptionDataset ``x`` becomes ``model_dataset``'s pipeline (for ``fit`` shuffled unless
    ``options["shuffle"]`` is False), and Keras' own ``batch_size`` and ``shuffle`` are then left
    to the pipeline; a CaptionDataset ``validation_data`` becomes an unshuffled one. Inside the
    block, an image file that cannot be decoded stops the run with an error that names it, or, for
    a dataset with ``on_bad_image="skip"``, is left out and counted in one warning at the end.

    Args:
        model: the ``Captioner``.
        x: a CaptionDataset, or anything Keras' ``fit`` takes.
        validation_data: a CaptionDataset, or anything Keras takes (None: none).
        batch_size: captions per batch (default 64 for a CaptionDataset).
        feature_cache: the ``FeatureCache`` the CaptionDatasets are read from, or None.
        options: the other keyword arguments of the call; ``shuffle`` and ``deterministic`` are
            taken out for the pipeline, and for ``fit`` ``shuffle=False`` put in for Keras.
        fit: whether the arguments are ``fit``'s (else ``evaluate``'s: nothing is shuffled).

    Yields:
        ``(x, validation_data, batch_size)`` for Keras.

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("train", 8, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), image_size=(32, 32), units=16)
        >>> options = {"epochs": 1}
        >>> with keras_inputs(model, data, None, 8, None, options) as (x, validation_data, batch_size):
        ...     type(x).__name__, validation_data, batch_size, options
        ('_PrefetchDataset', None, None, {'epochs': 1, 'shuffle': False})
    """
    options = {} if options is None else options
    passes = []  # one UnreadableImages per dataset read from files
    batch = 64 if batch_size is None else batch_size  # 0 is refused by name, not taken as 64
    deterministic = options.pop("deterministic", True)
    if isinstance(x, CaptionDataset):
        shuffle = options.pop("shuffle", True) if fit else False
        x = model_dataset(model, x, batch, shuffle=shuffle, feature_cache=feature_cache, deterministic=deterministic,
                          unreadable=_unreadable_for(x, passes))
        batch_size = None
        if fit:
            options["shuffle"] = False  # the pipeline shuffles
    if isinstance(validation_data, CaptionDataset):
        validation_data = model_dataset(model, validation_data, batch, shuffle=False, feature_cache=feature_cache,
                                        unreadable=_unreadable_for(validation_data, passes))
    with contextlib.ExitStack() as stack:
        for unreadable in passes:
            stack.enter_context(unreadable.raising())
        yield x, validation_data, batch_size
    for unreadable in passes:
        unreadable.warn(stacklevel=5)


def _unreadable_for(dataset, passes):
    """The UnreadableImages of a dataset read from files (added to ``passes``), else None."""
    if isinstance(dataset.images, np.ndarray):
        return None
    passes.append(UnreadableImages(dataset.on_bad_image))
    return passes[-1]
