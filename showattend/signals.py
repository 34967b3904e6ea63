"""Ctrl-C (SIGINT) and a scheduler's SIGTERM stop a command between two batches, never inside TensorFlow.

Python raises ``KeyboardInterrupt`` wherever the main thread is when the signal arrives. Inside
``fit`` that may be while TensorFlow calls back into Python (tracing a function, a tf.data
callback), and an exception there can leave TensorFlow's state half-changed: a SIGTERM at a random
moment of `showattend train` once left it waiting forever in the destructor of the input pipeline's
iterator. So the `showattend` command installs ``handle_signals()``; inside a loop that
runs ``at_safe_points()`` (training, feature extraction, a search) a signal is only noted, and the loop
stops at its next safe point (``stop_if_asked``, which ``showattend.callbacks.StopWhenAsked`` calls
after every batch and epoch). Outside such a loop, and for a second signal, it stops at once as usual;
and as Python prints and drops an exception raised while it runs a weakref callback or a destructor,
the signal is also kept until the next safe point.

A program that does not call ``handle_signals`` keeps Python's own handling.
"""
import contextlib
import signal
import sys
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM: stops the program as Ctrl-C does, so both end the same way and a rerun resumes.

    A ``KeyboardInterrupt``, so whatever handles Ctrl-C handles a scheduler's SIGTERM too; the
    `showattend` command tells them apart in its message and exit status (130 or 143).

    Examples:

        >>> issubclass(Terminated, KeyboardInterrupt)
        True
        >>> try:
        ...     raise Terminated()
        ... except KeyboardInterrupt as stop:
        ...     print(type(stop).__name__)
        Terminated
    """


_state = {"handled": False, "deferring": 0, "pending": None}


def _stop(signum):
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum, frame):
    first = _state["pending"] is None
    _state["pending"] = signum  # kept: an exception raised inside a weakref callback or a destructor is
    if _state["deferring"] and first:  # printed and dropped by Python, and then the next safe point stops
        return
    _stop(signum)


@contextlib.contextmanager
def handle_signals():
    """Within this block SIGINT and SIGTERM stop at safe points (main thread only; elsewhere a no-op).

    Inside an ``at_safe_points()`` loop the first signal is only noted, and the loop stops at its
    next ``stop_if_asked()``; anywhere else, and for a second signal, it stops at once as usual (a
    SIGTERM raises ``Terminated``). Python's own handlers come back when the block ends.

    Yields:
        Nothing: the block runs with the handlers installed.

    Examples:

        >>> import signal
        >>> with handle_signals():
        ...     try:
        ...         with at_safe_points():
        ...             for batch in range(3):
        ...                 if batch == 1:
        ...                     signal.raise_signal(signal.SIGINT)  # Ctrl-C: noted, the batch goes on
        ...                 print("batch", batch, "done")
        ...                 stop_if_asked()  # the safe point: the noted Ctrl-C stops here
        ...     except KeyboardInterrupt:
        ...         print("stopped between two batches")
        batch 0 done
        batch 1 done
        stopped between two batches
        >>> signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back
        True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def unraisable(info):  # the stop that Python dropped is kept in _state: no traceback for it
        if not isinstance(info.exc_value, KeyboardInterrupt):
            previous_hook(info)

    sys.unraisablehook = unraisable
    _state.update(handled=True, pending=None)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.unraisablehook = previous_hook
        _state.update(handled=False, pending=None)


@contextlib.contextmanager
def at_safe_points():
    """A signal that arrives within this block waits for the next ``stop_if_asked``.

    Only under ``handle_signals()``; blocks nest. On leaving the block, a signal still waiting
    stops the program there.

    Yields:
        Nothing: the block runs with signals deferred to its safe points.

    Examples:

        >>> import signal
        >>> with handle_signals():
        ...     try:
        ...         with at_safe_points():
        ...             signal.raise_signal(signal.SIGTERM)  # a scheduler's SIGTERM: noted only
        ...             print("the block goes on")
        ...     except Terminated:
        ...         print("stopped on leaving the block")
        the block goes on
        stopped on leaving the block
    """
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
    stop_if_asked()


def stop_if_asked():
    """Raise the KeyboardInterrupt (or ``Terminated``) of a signal noted since the last safe point.

    A loop inside ``at_safe_points()`` calls it where stopping is safe (``StopWhenAsked`` does after
    every batch and epoch); with no signal noted it does nothing.

    Raises:
        Terminated: when the noted signal is a SIGTERM.
        KeyboardInterrupt: when the noted signal is a SIGINT (Ctrl-C).

    Examples:

        >>> import signal
        >>> stop_if_asked()  # nothing noted: nothing happens
        >>> with handle_signals(), at_safe_points():
        ...     signal.raise_signal(signal.SIGINT)
        ...     try:
        ...         stop_if_asked()
        ...     except KeyboardInterrupt:
        ...         print("Ctrl-C, at the safe point")
        ...     stop_if_asked()  # the signal was used up: the loop could go on
        Ctrl-C, at the safe point
    """
    signum = _state["pending"]
    if signum is not None:
        _state["pending"] = None
        _stop(signum)
