"""What keeps one trial from ending a search: a diverging loss, an out-of-memory error, a time budget."""
import math
import re
import time

import keras

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text):
    """Seconds in a time budget such as "90s", "45m", "2h", "1.5h" or "1d".

    Args:
        text: A positive number with a unit: ``s``, ``m`` (or ``min``), ``h`` or ``d``; a number
            without a unit (or an int or float) is seconds. None stays None: no budget.

    Returns:
        The seconds as a float, or None for None.

    Raises:
        ValueError: When ``text`` is not a positive number with one of those units.

    Examples:

        >>> parse_duration("2h"), parse_duration("90s"), parse_duration("1.5m"), parse_duration(30)
        (7200.0, 90.0, 90.0, 30.0)
        >>> parse_duration(None) is None
        True
        >>> parse_duration("two hours")
        Traceback (most recent call last):
        ...
        ValueError: Cannot read the time budget 'two hours': write a positive number with a unit, e.g. '90s',
        '45m', '2h' or '1d'.
    """
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not text > 0:
            raise ValueError(f"The time budget must be positive, got {text!r} (seconds).")
        return float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"Cannot read the time budget {text!r}: write a positive number with a unit, e.g. "
                         "'90s', '45m', '2h' or '1d'.")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def is_out_of_memory(error):
    """Whether ``error`` is an accelerator or host out-of-memory error.

    ``CaptionHyperModel.fit`` retries a trial with half the batch on such an error.

    Args:
        error: An exception: TensorFlow's ``ResourceExhaustedError``, a ``MemoryError``, or another
            error whose message carries one (as Keras re-raises it from inside a step).

    Returns:
        True for an out-of-memory error, False for any other.

    Examples:

        >>> import tensorflow as tf
        >>> is_out_of_memory(tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"))
        True
        >>> is_out_of_memory(RuntimeError("Graph execution error: OOM when allocating tensor with shape [64,512]"))
        True
        >>> is_out_of_memory(ValueError("Shapes (2, 3) and (4,) are incompatible"))
        False
    """
    import tensorflow as tf

    if isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError)):
        return True
    text = str(error)
    return "ResourceExhaustedError" in text or "OOM when allocating" in text or "Out of memory" in text


class TrialGuard(keras.callbacks.Callback):
    """A Keras callback that stops a trial whose loss diverged or whose time is up.

    A batch whose loss is no longer finite stops the training and puts back the weights its epoch
    began with, so that the epoch is scored on finite weights and the objective stays a number
    (``diverged`` is then the batch's index). The epoch that ends after ``deadline`` is the last
    (``out_of_time`` is then True). ``CaptionHyperModel.fit`` adds one to every trial.

    Args:
        deadline: A ``time.time()`` in seconds after which no new epoch starts, or None for none.

    Examples:

        >>> import time
        >>> import keras
        >>> import numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> guard = TrialGuard(deadline=time.time())  # already passed: the first epoch is the last
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=5, callbacks=[guard], verbose=0)
        >>> len(history.history["loss"]), guard.out_of_time, guard.diverged
        (1, True, None)
        >>> guard = TrialGuard()
        >>> history = model.fit(np.full((4, 2), 1e30), np.ones((4, 1)), epochs=5, callbacks=[guard], verbose=0)
        The loss is inf at batch 1: the training diverged, so this trial stops (its last epoch is scored on the
        weights it began with).
        >>> guard.diverged, all(np.isfinite(w).all() for w in model.get_weights())
        (0, True)
    """

    def __init__(self, deadline=None):
        super().__init__()
        self.deadline, self.diverged, self.out_of_time = deadline, None, False
        self._start_weights = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start_weights = self.model.get_weights()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.diverged is None:
            self.diverged = batch
            self.model.stop_training = True
            self.model.set_weights(self._start_weights)
            print(f"The loss is {float(loss)} at batch {batch + 1}: the training diverged, so this trial stops "
                  "(its last epoch is scored on the weights it began with).")

    def on_epoch_end(self, epoch, logs=None):
        if self.deadline is not None and time.time() >= self.deadline:
            self.out_of_time = True
            self.model.stop_training = True
