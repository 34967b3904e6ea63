"""The one resize of the package: bilinear with antialiasing, as captioning, training and the
feature cache all see their images."""
import numpy as np


def resize_images(images, size):
    """Resize a list of (H, W, 3) uint8 arrays to one float32 batch (N, height, width, 3) in 0..255.

    The same resize (bilinear, antialiased, rounded to whole values) as the training pipeline and
    the feature cache, so that captioning sees exactly what training saw. An image that already
    has the size is kept as it is.

    Args:
        images: a list of uint8 arrays (H, W, 3); their sizes may differ.
        size: (height, width) of the batch.

    Returns:
        A float32 array (N, height, width, 3) of whole values in 0..255.

    Examples:
        >>> import numpy as np
        >>> batch = resize_images([np.zeros((10, 20, 3), np.uint8), np.full((32, 32, 3), 200, np.uint8)],
        ...                       (32, 32))
        >>> batch.shape, batch.dtype, batch[1, 0, 0].tolist()
        ((2, 32, 32, 3), dtype('float32'), [200.0, 200.0, 200.0])
    """
    import tensorflow as tf

    height, width = size
    batch = []
    for image in images:
        if image.shape[:2] == (height, width):
            batch.append(image.astype(np.float32))
        else:
            batch.append(np.round(resize_tensor(tf.constant(image), size).numpy()))
    return np.stack(batch)


def resize_tensor(image, size):
    """Resize one (H, W, 3) image tensor to float32 (height, width, 3), bilinear with antialiasing.

    The resize of ``resize_images`` and of the tf.data pipeline, as a TensorFlow op (it runs
    inside ``tf.data`` maps); the values are clipped to 0..255 but not rounded.

    Args:
        image: an image tensor (H, W, 3) of any real dtype, values in 0..255.
        size: (height, width) to resize to.

    Returns:
        A float32 tensor (height, width, 3).

    Examples:
        >>> import tensorflow as tf
        >>> resized = resize_tensor(tf.fill((10, 20, 3), tf.constant(7, tf.uint8)), (32, 32))
        >>> tuple(resized.shape), resized.dtype.name, float(resized[0, 0, 0])
        ((32, 32, 3), 'float32', 7.0)
    """
    import tensorflow as tf

    image = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)
