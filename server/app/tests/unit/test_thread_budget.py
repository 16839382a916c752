"""One thread budget bounds every pool a worker's frames pass through: onnxruntime's
sessions (no spin-waiting), OpenCV's pool and the decoders and encoder it opens, from
the worker's settings and the cores this process may use."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from app.adapters.media import frame_seek
from app.adapters.pipeline import thread_budget
from app.adapters.pipeline.frame_source import open_video
from app.adapters.pipeline.models import runtime
from app.settings import Settings
from app.workers import worker_runner

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    """The budget is process-wide: each test puts the count and OpenCV's back."""
    before = cv2.getNumThreads()
    monkeypatch.setattr(runtime, "_threads", None)
    yield
    cv2.setNumThreads(before)


def settings(workers: int, threads: int = 0) -> Settings:
    return Settings(_env_file=None, workers_per_host=workers, inference_threads=threads)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for value in range(0, 200, 40):
        writer.write(np.full((48, 64, 3), value, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("workers", "threads", "cores", "expected"),
    [(1, 0, 2, 2), (2, 0, 2, 1), (3, 0, 2, 1), (2, 0, 8, 4), (3, 0, 8, 2), (2, 3, 2, 3)],
)
def test_the_budget_is_the_cores_shared_by_the_workers_or_the_count_asked(
    workers, threads, cores, expected
):
    assert thread_budget.thread_budget(settings(workers, threads), cores) == expected


def test_the_budget_follows_this_process_cpu_affinity(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert thread_budget.thread_budget(settings(2)) == 2


def test_applying_it_bounds_sessions_opencv_and_decoders_alike(clip):
    assert thread_budget.apply_thread_budget(settings(2), cores=2) == 1
    assert cv2.getNumThreads() == 1
    assert thread_budget.decoder_threads() == 1
    options = runtime.session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    capture = open_video(str(clip))
    try:
        assert capture.get(cv2.CAP_PROP_N_THREADS) == 1  # the frame loop's decoder
    finally:
        capture.release()


def test_a_larger_budget_reaches_the_frame_loop_decoder_too(clip):
    thread_budget.apply_thread_budget(settings(1, threads=3))
    capture = open_video(str(clip))
    try:
        assert capture.get(cv2.CAP_PROP_N_THREADS) == 3
    finally:
        capture.release()


def test_the_frame_image_decoder_gets_the_budget(clip, monkeypatch):
    thread_budget.apply_thread_budget(settings(2), cores=2)
    seen = []
    real_open = av.open

    def spying_open(*args, **kwargs):
        container = real_open(*args, **kwargs)
        seen.append(container.streams.video[0].codec_context)
        return container

    monkeypatch.setattr(frame_seek.av, "open", spying_open)
    image = frame_seek.read_frame(str(clip), 2, max_decoded=50, timeout_s=10.0)
    assert image is not None and seen and seen[0].thread_count == 1


def test_the_worker_applies_its_budget_before_anything_is_built(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(worker_runner, "get_settings", lambda: settings(2))
    monkeypatch.setattr(worker_runner, "configure_logging", lambda *_a: None)
    monkeypatch.setattr(
        worker_runner, "apply_thread_budget", lambda s: calls.append(f"budget {s.workers_per_host}")
    )
    monkeypatch.setattr(worker_runner, "serve_worker_metrics", lambda _s: calls.append("metrics"))

    def build(_settings):
        calls.append("build")
        raise worker_runner.QueueKeyError("stop here")

    monkeypatch.setattr(worker_runner, "build_worker", build)
    assert worker_runner.main(["--once"]) == 2
    assert calls == ["budget 2", "metrics", "build"]
