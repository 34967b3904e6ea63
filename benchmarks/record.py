"""What every benchmark JSON records besides its figures: the machine and the date it ran."""
import datetime
import os
import platform

from showattend.files import write_json


def machine():
    """This machine in a dict: CPU cores, platform, TensorFlow and Keras versions, devices."""
    import keras
    import tensorflow as tf
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "devices": [d.device_type for d in tf.config.list_physical_devices()]}


def write_result(path, result):
    """Write ``result`` to ``path`` atomically, with ``machine`` (unless it has one) and ``date``."""
    result.setdefault("machine", machine())
    result["date"] = datetime.date.today().isoformat()
    write_json(path, result)
