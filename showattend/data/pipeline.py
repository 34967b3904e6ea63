"""tf.data pipelines that feed a Captioner: every reference caption is one training example."""
import numpy as np
import tensorflow as tf

from showattend.data.dataset import CaptionDataset
from showattend.data.images import resize_images, resize_tensor


def encode_captions(captions, vocabulary, max_length):
    """Ids with <start>/<end>, cut to ``max_length`` words, padded with 0: (N, max_length + 2) int32."""
    ids = np.zeros((len(captions), max_length + 2), dtype=np.int32)
    for row, caption in enumerate(captions):
        words = vocabulary.encode(caption)[:max_length]
        ids[row, : len(words) + 2] = [vocabulary.start_id, *words, vocabulary.end_id]
    return ids


def longest_caption(dataset, vocabulary):
    return max(len(vocabulary.encode(c)) for c in dataset.all_captions())


def caption_dataset_to_tf(dataset, vocabulary, image_size, batch_size=64, shuffle=True, seed=0,
                          max_length=None, drop_remainder=False, group_by_image=False):
    """A ``tf.data.Dataset`` of ``({"images", "tokens"}, targets)`` batches from a CaptionDataset.

    ``tokens`` are the caption ids from ``<start>``, ``targets`` the same ids shifted by one (they end
    with ``<end>``), padded with 0, which the loss ignores. Every reference caption is one example,
    seen once per epoch:

    - ``group_by_image=False``: tokens (batch_size, steps), one image per caption;
    - ``group_by_image=True``: an image's captions share a batch, so the CNN runs once per image:
      images (batch_size // R, H, W, 3), tokens (batch_size // R, R, steps), where R is the most
      captions any image has (images with fewer get all-padding rows, which count for nothing).

    >>> from showattend import Vocabulary
    >>> from showattend.datasets import shapes
    >>> data = shapes("val", num_images=4)
    >>> vocab = Vocabulary.build(data.all_captions())
    >>> x, y = next(iter(caption_dataset_to_tf(data, vocab, (64, 64), batch_size=2)))
    >>> x["images"].shape[1:], x["tokens"].shape == y.shape
    (TensorShape([64, 64, 3]), True)
    """
    if not isinstance(dataset, CaptionDataset):
        raise ValueError(f"Expected a CaptionDataset, got {type(dataset).__name__}.")
    max_length = max_length or longest_caption(dataset, vocabulary)
    if group_by_image:
        per_image = max(len(refs) for refs in dataset.captions)
        ids = np.zeros((len(dataset), per_image, max_length + 2), dtype=np.int32)
        for i, refs in enumerate(dataset.captions):
            ids[i, : len(refs)] = encode_captions(refs, vocabulary, max_length)
        image_index = np.arange(len(dataset), dtype=np.int32)
        batch_size = max(1, batch_size // per_image)
    else:
        image_index = np.array([i for i, refs in enumerate(dataset.captions) for _ in refs], dtype=np.int32)
        ids = encode_captions(dataset.all_captions(), vocabulary, max_length)
    examples = tf.data.Dataset.from_tensor_slices((image_index, ids))
    if shuffle:
        examples = examples.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)

    if isinstance(dataset.images, np.ndarray):
        images = dataset.images
        if images.shape[1:3] != tuple(image_size):
            images = np.round(resize_images(list(images), image_size)).astype(np.uint8)
        images = tf.constant(images)

        def load(index):
            return images[index]
    else:
        paths = tf.constant([str(p) for p in dataset.images])

        def load(index):
            data = tf.io.read_file(paths[index])
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            image.set_shape([None, None, 3])
            return tf.cast(tf.round(resize_tensor(image, image_size)), tf.uint8)

    def to_example(index, caption_ids):
        return {"images": load(index), "tokens": caption_ids[..., :-1]}, caption_ids[..., 1:]

    drop_remainder = drop_remainder and len(ids) >= batch_size  # never drop the only batch
    return (examples.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size, drop_remainder=drop_remainder)
            .prefetch(tf.data.AUTOTUNE))
