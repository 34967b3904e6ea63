"""Free the input pipelines' iterators while Python can still run their decoding functions.

Images are decoded by PIL inside ``tf.numpy_function``, on tf.data's own threads. When an error or
Ctrl-C leaves ``fit`` mid-epoch, the iterator that feeds it stays alive: Keras' epoch iterator and
the generator it keeps (``EpochIterator._epoch_iterator``) refer to each other, so only the cyclic
garbage collector frees them, and a script that ends there frees them while the interpreter shuts
down. The iterator's destructor then waits for the decoding calls still in flight, and those calls
can never take the interpreter lock again: the process hangs after its error message was printed.

``_free_pipelines`` runs the collector once more from ``atexit``, before the shutdown begins, so the
iterator is destroyed while its in-flight calls can still finish. The traceback that the interpreter
keeps for an uncaught error (``sys.last_traceback``, already printed by then) holds the frames of
``fit`` and with them the iterator, so it is dropped first.

Then every object still alive is frozen (``gc.freeze``): the interpreter's own collections while it
shuts down would otherwise walk TensorFlow's and Keras' objects again and again. What they would free is the process's memory, which the
system takes back at once.
"""
import atexit
import gc
import sys

_LAST_ERROR = ("last_exc", "last_type", "last_value", "last_traceback")


def _free_pipelines():
    for name in _LAST_ERROR:
        if getattr(sys, name, None) is not None:
            setattr(sys, name, None)
    gc.collect()
    gc.freeze()


atexit.register(_free_pipelines)
