"""Where the time of a TensorFlow profiler trace goes, by kind of operation.

    summary = op_summary(logdir, runs=3)  # after tf.profiler.experimental.start(logdir) … stop()

Reads the trace's ``.xplane.pb`` (TensorFlow's own protobuf, no TensorBoard needed) and sums the
durations of the operations TensorFlow ran on its compute threads, by type (``_MklMatMul``, ``Tanh``,
…; an XLA cluster counts as ``CpuExecutable::ExecuteAsyncOnStream``), divided by ``runs``. Operations
on the two threads of a 2-core CPU overlap, so the sums add up to more than the wall time; the
thread pool's own bookkeeping events are left out.
"""
import collections
import glob

BOOKKEEPING = ("ExecutorState::", "ParallelFor", "BlockUntilReady", "ThunkExecutor::")


def op_summary(logdir, runs=1, top=15):
    """[{"op": type, "ms_per_run": …, "calls_per_run": …}] for the ``top`` types by time."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))
    if not paths:
        raise FileNotFoundError(f"No profiler trace (*.xplane.pb) under {logdir}.")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    seconds, calls = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name.startswith(BOOKKEEPING):
                    continue
                kind = name if "::" in name else name.rsplit(":", 1)[-1]  # "scope/op:Type" → Type
                seconds[kind] += event.duration_ps / 1e12
                calls[kind] += 1
    return [{"op": kind, "ms_per_run": 1000 * s / runs, "calls_per_run": calls[kind] / runs}
            for kind, s in seconds.most_common(top)]
