"""tf.data pipelines that feed a Captioner: every reference caption is one training example."""
import collections

import numpy as np
import tensorflow as tf

from showattend.data import shutdown  # noqa: F401  (frees a stopped pipeline's iterator before exit)
from showattend.data.dataset import CaptionDataset
from showattend.data.resize import resize_images
from showattend.data.unreadable import UnreadableImages


def encode_captions(captions, vocabulary, max_length):
    """Encode captions as rows of ids: ``<start>``, the words, ``<end>``, then padding (0).

    Args:
        captions: a list of N caption strings.
        vocabulary: the ``showattend.text.Vocabulary`` that gives the ids (unknown words are
            ``<unk>``).
        max_length: the most words a row keeps; longer captions are cut.

    Returns:
        An int32 array (N, max_length + 2).

    Examples:
        >>> from showattend import Vocabulary
        >>> vocab = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
        >>> encode_captions(["a red circle", "a blue square and more"], vocab, max_length=4)
        array([[1, 4, 7, 6, 2, 0],
               [1, 4, 5, 8, 3, 2]], dtype=int32)
    """
    ids = np.zeros((len(captions), max_length + 2), dtype=np.int32)
    for row, caption in enumerate(captions):
        words = vocabulary.encode(caption)[:max_length]
        ids[row, : len(words) + 2] = [vocabulary.start_id, *words, vocabulary.end_id]
    return ids


def group_captions(captions):
    """Group captions for batches that hold an image once.

    R is the number of captions most images have (5 for COCO); an image with more appears in
    several groups, so that every caption is still seen once an epoch while few rows are padding
    (COCO has images with up to 7 captions: grouping by the largest count would pad 28 % of the rows).

    Args:
        captions: one list of reference captions per image.

    Returns:
        ``(R, groups)``: groups is a list of ``(image index, up to R captions)``, image after image.

    Examples:
        >>> group_captions([["a", "b"], ["c", "d"], ["e", "f", "g"]])
        (2, [(0, ['a', 'b']), (1, ['c', 'd']), (2, ['e', 'f']), (2, ['g'])])
    """
    per_image = collections.Counter(len(refs) for refs in captions).most_common(1)[0][0]
    return per_image, [(i, list(refs[k:k + per_image])) for i, refs in enumerate(captions)
                       for k in range(0, len(refs), per_image)]


def longest_caption(dataset, vocabulary):
    """The most words any caption of ``dataset`` has.

    Args:
        dataset: a CaptionDataset.
        vocabulary: the ``showattend.text.Vocabulary`` whose ``encode`` splits the captions
            into words.

    Returns:
        The number of words (ids, ``<start>`` and ``<end>`` not counted) of the longest caption.

    Examples:
        >>> from showattend import Vocabulary
        >>> longest_caption(CaptionDataset(["a.png"], [["a red circle", "a circle"]]), Vocabulary(["a"]))
        3
    """
    return max(len(vocabulary.encode(c)) for c in dataset.all_captions())


def caption_dataset_to_tf(dataset, vocabulary, image_size, batch_size=64, shuffle=True, seed=0,
                          max_length=None, drop_remainder=False, group_by_image=False, feature_cache=None,
                          deterministic=True, unreadable=None):
    """A ``tf.data.Dataset`` of ``({"images", "tokens"}, targets)`` batches from a CaptionDataset.

    ``tokens`` are the caption ids from ``<start>``, ``targets`` the same ids shifted by one (they end
    with ``<end>``), padded with 0, which the loss ignores. Every reference caption is one example,
    seen once per epoch:

    - ``group_by_image=False``: tokens (batch_size, steps), one image per caption;
    - ``group_by_image=True``: an image's captions share a batch, so the CNN runs once per image:
      images (batch_size // R, H, W, 3), tokens (batch_size // R, R, steps), where R is the number
      of captions most images have (``group_captions``: images with fewer get all-padding rows,
      which count for nothing; images with more come in several groups).

    Image files are decoded lazily, in parallel, and the next batches are prepared while the model
    trains on this one (``prefetch``). ``deterministic=True`` keeps the order fixed by ``seed`` (the
    same batches on every run); False lets a slow image be overtaken by the next ones (faster when
    decoding times vary, the order then varies too). With a ``feature_cache``
    (``showattend.features.FeatureCache``) the batches hold ``"features"`` (batch, h, w, C) float16
    read from the cache instead of ``"images"``, in the same order.

    Image files that cannot be read are met as ``dataset.on_bad_image`` says, by ``unreadable``
    (a ``showattend.data.unreadable.UnreadableImages``; one is made if none is given): pass your
    own to name the file after a failure (``with unreadable.raising(): ...``) and to count the
    skipped ones (``unreadable.warn()``).

    Args:
        dataset: the CaptionDataset (images in memory or as file paths).
        vocabulary: the ``showattend.text.Vocabulary`` that encodes the captions.
        image_size: (height, width) the images are resized to.
        batch_size: captions a batch holds (with ``group_by_image``, divided by R into images).
        shuffle: shuffle the examples, anew each epoch.
        seed: the shuffle's seed.
        max_length: the most words a caption keeps (longer ones are cut); by default the
            longest caption's length.
        drop_remainder: leave out the last, smaller batch (never when it is the only one).
        group_by_image: batches of images with all their captions (see above).
        feature_cache: a ``showattend.features.FeatureCache`` that holds the images' features,
            or None to read the images.
        deterministic: keep the order fixed by ``seed`` (see above).
        unreadable: the ``UnreadableImages`` that meets unreadable files, or None for a new one.

    Returns:
        A ``tf.data.Dataset`` of ``(inputs, targets)`` batches: ``inputs`` a dict with
        ``"images"`` (uint8) or ``"features"`` (float16) and ``"tokens"`` (int32).

    Raises:
        ValueError: ``dataset`` is not a CaptionDataset, or ``unreadable`` meets bad images
            otherwise than ``dataset.on_bad_image`` says.

    Examples:
        >>> from showattend import Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("val", num_images=4)
        >>> vocab = Vocabulary.build(data.all_captions(), min_count=1)
        >>> x, y = next(iter(caption_dataset_to_tf(data, vocab, (64, 64), batch_size=2)))
        >>> tuple(x["images"].shape), tuple(x["tokens"].shape) == tuple(y.shape)
        ((2, 64, 64, 3), True)
        >>> x, y = next(iter(caption_dataset_to_tf(data, vocab, (32, 32), batch_size=8, group_by_image=True)))
        >>> tuple(x["images"].shape), tuple(x["tokens"].shape)[:2]  # 2 images with their 4 captions each
        ((2, 32, 32, 3), (2, 4))
    """
    if not isinstance(dataset, CaptionDataset):
        raise ValueError(f"Expected a CaptionDataset, got {type(dataset).__name__}.")
    if feature_cache is not None:
        dataset = feature_cache.cached_part(dataset)
    max_length = max_length or longest_caption(dataset, vocabulary)
    if group_by_image:
        per_image, groups = group_captions(dataset.captions)
        ids = np.zeros((len(groups), per_image, max_length + 2), dtype=np.int32)
        for g, (_, refs) in enumerate(groups):
            ids[g, : len(refs)] = encode_captions(refs, vocabulary, max_length)
        image_index = np.array([i for i, _ in groups], dtype=np.int32)
        batch_size = max(1, batch_size // per_image)
    else:
        image_index = np.array([i for i, refs in enumerate(dataset.captions) for _ in refs], dtype=np.int32)
        ids = encode_captions(dataset.all_captions(), vocabulary, max_length)
    examples = tf.data.Dataset.from_tensor_slices((image_index, ids))
    if shuffle:
        examples = examples.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    drop_remainder = drop_remainder and len(ids) >= batch_size  # never drop the only batch

    def split(caption_ids):
        return caption_ids[..., :-1], caption_ids[..., 1:]

    if feature_cache is not None:
        rows = feature_cache.locate(dataset.images)
        shape = (None, *feature_cache.grid_shape)

        @tf.autograph.experimental.do_not_convert  # plain ops: nothing to convert (AutoGraph warned on the closure)
        def with_features(index, caption_ids):
            features = tf.numpy_function(lambda i: feature_cache.read_rows(rows[i]), [index], tf.float16)
            features.set_shape(shape)
            tokens, targets = split(caption_ids)
            return {"features": features, "tokens": tokens}, targets

        return (examples.batch(batch_size, drop_remainder=drop_remainder)
                .map(with_features, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
                .prefetch(tf.data.AUTOTUNE))

    if isinstance(dataset.images, np.ndarray):
        images = dataset.images
        if images.shape[1:3] != tuple(image_size):
            images = resize_images(list(images), image_size).astype(np.uint8)
        images = tf.constant(images)

        def load(index):
            return images[index], True
    else:
        paths = tf.constant([str(p) for p in dataset.images])
        unreadable = unreadable or UnreadableImages(dataset.on_bad_image)
        if unreadable.on_bad_image != dataset.on_bad_image:
            raise ValueError(f"unreadable meets bad images with {unreadable.on_bad_image!r} but the dataset asks "
                             f"for {dataset.on_bad_image!r}.")

        def load(index):
            return unreadable.decode(paths[index], image_size)

    def to_example(index, caption_ids):
        image, ok = load(index)
        tokens, targets = split(caption_ids)
        return {"images": image, "tokens": tokens}, targets, ok

    examples = examples.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if dataset.on_bad_image == "skip" and not isinstance(dataset.images, np.ndarray):
        examples = examples.filter(lambda x, y, ok: ok)
    return (examples.map(lambda x, y, ok: (x, y))
            .batch(batch_size, drop_remainder=drop_remainder)
            .prefetch(tf.data.AUTOTUNE))
