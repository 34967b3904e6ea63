"""One way to meet an image file that cannot be read, for training, the feature cache, evaluation and captioning.

Each pass over a dataset's files (an epoch loop, an extraction, an evaluation) makes its own
``UnreadableImages``, with the dataset's ``on_bad_image``:

- ``"error"``: the first unreadable file stops the pass with a ``BadImageError`` (or, for a file
  that is gone, ``FileNotFoundError``) that names it and says how to go on;
- ``"skip"``: the file is left out, its reason kept in ``skipped``, and ``warn()`` counts them all
  in one warning at the end.

Files are read the same way on both paths: ``read_all`` in Python, ``decode`` as a tf op inside a
tf.data pipeline (where a failure surfaces as a TensorFlow error that ``raising()`` turns back into
the error naming the file). Nothing is kept from one pass to the next.
"""
import contextlib
import os
import threading
import warnings

import numpy as np

from showattend.data.dataset import BAD_IMAGE_CHOICES
from showattend.data.images import BadImageError, load_image
from showattend.data.resize import resize_images, resize_tensor

SHOWN = 3  # reasons named in the warning before "…"
ADVICE = "Fix or remove the file, or pass on_bad_image='skip' to leave unreadable images out."


class UnreadableImages:
    """What one pass over image files does with those it cannot decode.

    Args:
        on_bad_image: ``"error"`` (stop, naming the file) or ``"skip"`` (leave it out, warn once).

    Attributes:
        skipped: a dict, path → why it could not be read, of the files skipped so far, in the
            order met.

    Raises:
        ValueError: ``on_bad_image`` is neither ``"error"`` nor ``"skip"``.

    Examples:
        >>> import warnings
        >>> import numpy as np
        >>> from PIL import Image
        >>> Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save("good.png")
        >>> unreadable = UnreadableImages("skip")
        >>> arrays, kept = unreadable.read_all(["good.png", "no_such_file.jpg"], (32, 32))
        >>> [a.shape for a in arrays], kept, list(unreadable.skipped)
        ([(32, 32, 3)], [0], ['no_such_file.jpg'])
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     unreadable.warn()
        ['no_such_file.jpg']
        >>> str(caught[0].message)
        "1 unreadable image skipped (on_bad_image='skip'): No image file at 'no_such_file.jpg'."
        >>> UnreadableImages().read("no_such_file.jpg", (32, 32))
        Traceback (most recent call last):
        FileNotFoundError: No image file at 'no_such_file.jpg'. It may have been moved or deleted ...
    """

    def __init__(self, on_bad_image="error"):
        if on_bad_image not in BAD_IMAGE_CHOICES:
            raise ValueError(f"on_bad_image must be one of {', '.join(map(repr, BAD_IMAGE_CHOICES))}; "
                             f"got {on_bad_image!r}.")
        self.on_bad_image = on_bad_image
        self.skipped = {}  # path → why, in the order met
        self._failed = {}  # path → the error that stopped the pass (tf.data threads write here)
        self._lock = threading.Lock()

    def read(self, path, size):
        """Read one image file, resized to ``size``.

        Args:
            path: the image file (a str or os.PathLike).
            size: (height, width) to resize to.

        Returns:
            A uint8 array (height, width, 3), or None if the file cannot be read and is skipped.

        Raises:
            BadImageError: the file cannot be decoded and ``on_bad_image`` is ``"error"``.
            FileNotFoundError: the file is gone and ``on_bad_image`` is ``"error"``.
        """
        image = self._load(path, size)
        if image is None:
            return None
        return resize_images([image], size)[0].astype(np.uint8)

    def read_all(self, paths, size):
        """Read image files, resized to ``size``, leaving out those skipped (``read`` over ``paths``).

        Args:
            paths: image files.
            size: (height, width) to resize to.

        Returns:
            ``(arrays, kept)``: the uint8 arrays (height, width, 3) of the files read, and the
            indices in ``paths`` of the files they come from.

        Raises:
            BadImageError: a file cannot be decoded and ``on_bad_image`` is ``"error"``.
            FileNotFoundError: a file is gone and ``on_bad_image`` is ``"error"``.
        """
        arrays, kept = [], []
        for index, path in enumerate(paths):
            image = self.read(path, size)
            if image is not None:
                arrays.append(image)
                kept.append(index)
        return arrays, kept

    def decode(self, path, size):
        """Decode one image file inside a TensorFlow graph (a ``tf.data`` map), resized to ``size``.

        Decoding is PIL's (``load_image``) inside ``tf.numpy_function``; a skipped file comes back as
        a black image with ``ok = False`` for the pipeline to drop. With ``on_bad_image="error"`` an
        unreadable file fails the op with a TensorFlow error; ``raising()`` turns it back into the
        error that names the file.

        Args:
            path: a scalar string tensor, the file's path.
            size: (height, width) to resize to.

        Returns:
            ``(image, ok)``: a uint8 tensor (height, width, 3) and a scalar bool tensor, False
            for a skipped file.
        """
        import tensorflow as tf

        size = tuple(size)

        def load(path_bytes):
            image = self._load(path_bytes.decode(), size)
            return (np.zeros((1, 1, 3), np.uint8), False) if image is None else (image, True)

        image, ok = tf.numpy_function(load, [path], (tf.uint8, tf.bool), stateful=False)
        image.set_shape([None, None, 3])
        ok.set_shape([])
        return tf.cast(tf.round(resize_tensor(image, size)), tf.uint8), ok

    @contextlib.contextmanager
    def raising(self):
        """Raise, in place of the TensorFlow error that ``decode`` met, the error that names the file.

        A context manager around the loop over a pipeline that uses ``decode``; every other error
        passes through unchanged.

        Yields:
            This ``UnreadableImages``.

        Raises:
            BadImageError: an unreadable file stopped the pipeline (``on_bad_image="error"``).
            FileNotFoundError: a file that is gone stopped it.
        """
        import tensorflow as tf

        try:
            yield self
        except tf.errors.OpError as error:
            failure = self._failure(str(error))
            if failure is None:
                raise
        else:
            return
        # raised outside the except block: the TensorFlow error and its frames (which hold the
        # pipeline's iterator) are not kept alive as this error's context
        raise failure

    def warn(self, stacklevel=2):
        """Warn once, counting the files skipped so far and naming the first reasons (none: no warning).

        Args:
            stacklevel: the warning's stack level, counted from the caller of ``warn`` (2: the
                caller's caller).

        Returns:
            The paths of the files skipped, in the order met.
        """
        if self.skipped:
            count = len(self.skipped)
            reasons = "; ".join(list(self.skipped.values())[:SHOWN])
            warnings.warn(f"{count} unreadable image{'s' if count > 1 else ''} skipped (on_bad_image='skip'): "
                          f"{reasons}{' …' if count > SHOWN else ''}", stacklevel=stacklevel + 1)
        return list(self.skipped)

    def _load(self, path, size):
        path = os.fspath(path)
        try:
            return load_image(path, min_size=size)
        except (BadImageError, OSError) as error:
            if self.on_bad_image == "skip":
                with self._lock:
                    self.skipped[path] = str(error)
                return None
            failure = _with_advice(error, path)
            with self._lock:
                self._failed[path] = failure
            raise failure from None

    def _failure(self, message):
        with self._lock:
            failed = dict(self._failed)
        # this failure's file (named in TensorFlow's message), else the first one met
        return next((e for p, e in failed.items() if p in message), next(iter(failed.values()), None))


def _with_advice(error, path):
    if isinstance(error, BadImageError):
        return BadImageError(f"{error}. {ADVICE}")
    if isinstance(error, FileNotFoundError):
        return FileNotFoundError(f"{error} It may have been moved or deleted since the dataset was read. {ADVICE}")
    return BadImageError(f"{path!r} cannot be read: {error}. {ADVICE}")
