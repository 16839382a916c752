"""Unit-test fixtures: the package's in-memory adapters and a scripted PipelineRunner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict

import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.adapters.queue.in_memory import InProcessQueue
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.errors import PipelineInterrupted
from app.domain.frames import Frame, FrameLimits, FrameSink
from app.domain.model import Job
from app.domain.options import AnalysisOptions
from app.domain.ports import (
    PipelineInfo,
    PipelineRunner,
    ProgressCallback,
    StopCheck,
    VideoAnalysis,
)
from app.domain.services import submit_video

# The smallest upload that passes the MP4 check: a box size, then 'ftyp' at byte 4.
MP4_HEADER = b"\x00\x00\x00\x18ftypisom"
MP4_BYTES = MP4_HEADER + bytes(range(256)) * 4


class FrameItem(TypedDict):
    """One results item, as the API and the results file give it."""

    frame_index: int
    timestamp_ms: int
    result: dict[str, float]


FRAMES: list[FrameItem] = [
    {"frame_index": i, "timestamp_ms": 40 * i, "result": {"brightness": 10.0 * i}} for i in range(3)
]
VIDEO = {
    "fps": 25.0,
    "frame_count": 3,
    "width": 64,
    "height": 48,
    "duration_s": 0.12,
    "frames_declared": 3,
}


class FakeRunner(PipelineRunner):
    """Returns a canned analysis, or raises `error`; records every call it gets."""

    def __init__(
        self,
        pipeline_ids: tuple[str, ...] = ("motion", "quality"),
        error: BaseException | None = None,
        during_run: Callable[[], None] | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.warnings = warnings
        self.video = dict(VIDEO)
        self.frames_total: int | None = None  # VideoAnalysis.frames_total to return
        self.options: AnalysisOptions | None = None
        self.pipeline_ids = pipeline_ids
        self.error = error
        self.during_run = during_run
        self.calls: list[tuple[str, str]] = []

    def pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo(i, f"the {i} pipeline") for i in self.pipeline_ids]

    def run(
        self,
        video_path: str,
        pipeline_id: str,
        *,
        options: AnalysisOptions | None = None,
        sinks: Sequence[FrameSink] = (),
        limits: FrameLimits | None = None,
        should_stop: StopCheck = lambda: False,
        on_progress: ProgressCallback | None = None,
    ) -> VideoAnalysis:
        self.calls.append((video_path, pipeline_id))
        self.options = options
        if self.during_run is not None:
            self.during_run()
        if should_stop():
            raise PipelineInterrupted("stopped before the first frame")
        if self.error is not None:
            raise self.error
        for item in FRAMES:
            frame = Frame(item["frame_index"], item["timestamp_ms"], None, dict(item["result"]))
            for sink in sinks:
                sink.add(frame)
        return VideoAnalysis(
            video=dict(self.video),
            warnings=list(self.warnings),
            frames_analysed=3,
            frames_total=self.frames_total,
        )


@pytest.fixture
def jobs() -> InMemoryJobRepository:
    return InMemoryJobRepository()


@pytest.fixture
def queue() -> InProcessQueue:
    return InProcessQueue()


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


def submit(jobs, queue, storage, runner, chunks=(MP4_BYTES,), pipeline_id="quality", **kw) -> Job:
    """submit_video with the fakes, a valid MP4 and the quality pipeline by default."""
    return submit_video(
        chunks, pipeline_id, jobs=jobs, queue=queue, storage=storage, runner=runner, **kw
    )
