"""What keeps one trial from ending a search: a diverging loss, an out-of-memory error, a time budget."""
import math
import re
import time

import keras

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text):
    """Seconds in "90s", "45m", "2h", "1.5h", "1d" (or a number of seconds); None stays None.

    >>> parse_duration("2h"), parse_duration("90s"), parse_duration(30)
    (7200.0, 90.0, 30.0)
    """
    if text is None or isinstance(text, (int, float)) and not isinstance(text, bool):
        return None if text is None else float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"Cannot read the time budget {text!r}: write a positive number with a unit, e.g. "
                         "'90s', '45m', '2h' or '1d'.")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def is_out_of_memory(error):
    """Whether ``error`` is an accelerator or host out-of-memory error (TensorFlow's ResourceExhaustedError,
    or its message inside another error)."""
    import tensorflow as tf

    if isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError)):
        return True
    text = str(error)
    return "ResourceExhaustedError" in text or "OOM when allocating" in text or "Out of memory" in text


class TrialGuard(keras.callbacks.Callback):
    """Stops a trial whose loss is no longer finite, putting back the weights the epoch began with (so the
    epoch is scored on finite weights and the objective stays a number), and stops it at the end of the
    epoch that passes ``deadline`` (``time.time()`` seconds)."""

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
