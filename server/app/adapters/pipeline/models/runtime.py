"""onnxruntime sessions for the pipeline's models, with threads that share a machine.

Every session is built from bytes already checked against their pinned SHA-256
(`model_bytes`, or a graph made from them in memory): never from a path, so what runs is
what was verified. Each session runs on the CPU execution provider with:

- `intra_op_num_threads` = the process's inference thread count (`configure`; by default
  the cores this process may use divided by the workers on the host). Two workers that
  each start one thread per core fight for every core: on a loaded 2-core machine the
  detectors slowed ten times or more, far worse than a fair share;
- `inter_op_num_threads` = 1 and sequential execution: these graphs are chains;
- `session.intra_op.allow_spinning` = "0": idle threads sleep instead of spin-waiting,
  which on a shared machine burns the cores another worker (or the decoder) needs;
- all graph optimisations (constant folding, Conv+BN+activation fusion).

OpenCV's own thread pool (resizes, colour conversion, cv2.dnn) is bounded by the same
count in `configure`. The count is process-wide because both pools are.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

import cv2

from app.adapters.pipeline.models import model_bytes

# onnx and onnxruntime load in the worker, at a job's first frame: the API imports
# this module but never infers, and the import alone costs ~0.6 s and writes a
# session file into TMPDIR (onnxruntime's native start-up).
if TYPE_CHECKING:
    import onnx
    import onnxruntime as ort

log = logging.getLogger(__name__)

_state_lock = threading.Lock()
_threads: int | None = None  # None: not configured, `auto_threads(1)` is used


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: taskset, a cpuset cgroup),
    not the machine's count, which overstates what a limited process has."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def auto_threads(workers_per_host: int, cores: int | None = None) -> int:
    """A fair share: max(1, cores // workers_per_host)."""
    if workers_per_host < 1:
        raise ValueError("workers_per_host must be at least 1")
    return max(1, (usable_cores() if cores is None else cores) // workers_per_host)


def resolve_threads(setting: int, workers_per_host: int, cores: int | None = None) -> int:
    """The thread count a setting asks for: 0 = auto (see auto_threads), else itself."""
    if setting < 0:
        raise ValueError("the inference thread count must be 0 (auto) or positive")
    return setting if setting > 0 else auto_threads(workers_per_host, cores)


def configure(threads: int) -> None:
    """Set the process's inference thread count for sessions built from now on, and
    bound OpenCV's thread pool to it (a worker calls this once at start)."""
    global _threads
    if threads < 1:
        raise ValueError("the inference thread count must be at least 1")
    with _state_lock:
        _threads = threads
    cv2.setNumThreads(threads)
    log.info("inference on %d thread(s) (onnxruntime intra-op, OpenCV)", threads)


def inference_threads() -> int:
    with _state_lock:
        return _threads if _threads is not None else auto_threads(1)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """The options every session gets (see the module docstring)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or inference_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    return options


def session_from_bytes(model: bytes, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session for a serialised ONNX graph the caller built from verified bytes."""
    import onnxruntime as ort

    return ort.InferenceSession(
        model, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def free_spatial_shape(model: onnx.ModelProto) -> onnx.ModelProto:
    """The graph with its inputs' and outputs' batch, height and width made symbolic, so
    one session takes any input size (for fully convolutional graphs that were exported
    with a fixed example shape, as CenterFace's 10x3x32x32). Old exporters also list
    every weight as a graph input, which tells onnxruntime that a caller may replace it:
    it then folds none of them (no Conv+BatchNorm fusion), which made CenterFace 2.5x
    slower; those inputs are dropped (the weights stay, as initialisers)."""
    weights = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    for values, prefix in ((model.graph.input, "in"), (model.graph.output, "out")):
        for value in values:
            dims = value.type.tensor_type.shape.dim
            for axis, dim in enumerate(dims):
                if axis != 1 and len(dims) == 4:  # N, C, H, W: C stays
                    dim.ClearField("dim_value")
                    dim.dim_param = f"{prefix}_{value.name}_{axis}"
    del model.graph.value_info[:]  # shapes inferred from the old size would contradict
    return model


def session_for(key: str, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session for a pinned ONNX model file as it ships (hash-checked bytes;
    ModelFileError when the file is missing or differs)."""
    return session_from_bytes(model_bytes(key).tobytes(), threads)


__all__ = [
    "auto_threads",
    "configure",
    "free_spatial_shape",
    "inference_threads",
    "resolve_threads",
    "session_for",
    "session_from_bytes",
    "session_options",
    "usable_cores",
]
