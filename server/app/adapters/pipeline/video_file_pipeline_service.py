"""VideoFilePipelineService: the frame loop.

source -> steps -> stages -> sinks, one frame at a time (docs/architecture.md). Each
concern is its own small piece: the source decodes, seeks, samples and enforces the
limits; steps add detections; stages (shots, tracker, then filters) hold per-job state;
sinks write files. Nothing per frame is kept here, so memory is flat in the frame count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.engine import analyse
from app.adapters.pipeline.filters import DetectionFilter
from app.adapters.pipeline.frame_source import VideoSource
from app.adapters.pipeline.source_checks import DecodeBounds
from app.domain.errors import PipelineInterrupted, VideoDecodeError
from app.domain.frames import Frame, FrameLimits, FrameSink, FrameStage
from app.domain.options import AnalysisOptions
from app.domain.ports import (
    PipelineInfo,
    PipelineRunner,
    ProgressCallback,
    StopCheck,
    VideoAnalysis,
)
from app.domain.time_range import planned_frames

log = logging.getLogger(__name__)

# Builds a job's stages that run before the filters (shots, tracker), in order.
StageFactory = Callable[[str, AnalysisOptions], list[FrameStage]]


def no_stages(_pipeline_id: str, _options: AnalysisOptions) -> list[FrameStage]:
    return []


class VideoFilePipelineService(PipelineRunner):
    """The OpenCV PipelineRunner: frames go to the steps as numpy BGR arrays, never
    re-encoded; each step adds its keys to the frame's result dict."""

    def __init__(
        self,
        catalog: PipelineCatalog,
        prefetch: int = 4,
        stages: StageFactory = no_stages,
        limits: FrameLimits | None = None,
    ) -> None:
        self.catalog = catalog
        self.prefetch = prefetch
        self.stages = stages
        self.limits = limits or FrameLimits()

    def pipelines(self) -> list[PipelineInfo]:
        return self.catalog.infos()

    def has_pipeline(self, pipeline_id: str) -> bool:
        return pipeline_id in {p.id for p in self.catalog.infos()}

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
        options = options or AnalysisOptions()
        limits = limits or self.limits
        watch = _Watch(DecodeBounds(limits), should_stop, on_progress)
        steps = self.catalog.get(pipeline_id).build_steps()
        stages = [
            *self.stages(pipeline_id, options),
            DetectionFilter(options, limits.max_detections_per_frame),
        ]
        source = VideoSource(video_path, options, limits, self.prefetch, on_skip=watch.skipped)
        watch.planned = _planned(source, options)
        try:
            analyse(source, steps, stages, sinks, watch)
        finally:
            source.close()  # the reader thread and the decoder, whatever happened
        if source.frames_decoded == 0:
            raise VideoDecodeError(
                "no frame could be decoded: the file is corrupt, truncated or has no video track"
            )
        return VideoAnalysis(
            video=_video(source),
            warnings=_source_warnings(source) + [w for s in stages for w in s.warnings()],
            frames_analysed=watch.analysed,
            frames_total=watch.planned if source.ended_early else watch.analysed,
            person_ids={k: v for s in stages for k, v in s.person_ids().items()},
        )


class _Watch:
    """The stop request, the job-time limit and progress, for both threads: the loop
    after each analysed frame, the reader for each frame it skips (so a long stretch
    skipped by sampling or a time range still reports, which keeps the heartbeat's stall
    check quiet, and can be stopped). Progress counts the frames analysed against the
    frames the job plans to analyse (its range and sampling), never the whole video."""

    def __init__(
        self, bounds: DecodeBounds, should_stop: StopCheck, on_progress: ProgressCallback | None
    ) -> None:
        self.bounds, self.should_stop, self.on_progress = bounds, should_stop, on_progress
        self.started = time.monotonic()
        self.planned: int | None = None
        self.analysed = 0
        self._lock = threading.Lock()  # both threads report: keep the reports in order

    def before(self, _frame: Frame, analysed: int) -> None:
        self.check(f"stopped after {analysed} frames")

    def after(self, _frame: Frame) -> None:
        self.analysed_one()

    def check(self, stopped: str) -> None:
        if self.should_stop():
            raise PipelineInterrupted(stopped)
        self.bounds.check_job_time(time.monotonic() - self.started)

    def skipped(self, position: int) -> None:
        self.check(f"stopped at frame {position}")
        self._report()

    def analysed_one(self) -> None:
        with self._lock:
            self.analysed += 1
        self._report()

    def _report(self) -> None:
        """An estimate is only an estimate: the total never shows less than is done."""
        if self.on_progress is None:
            return
        with self._lock:
            done, planned = self.analysed, self.planned
            self.on_progress(done, max(planned, done) if planned is not None else None)


def _planned(source: VideoSource, options: AnalysisOptions) -> int | None:
    """The frames this run will analyse, from the decoder's frame rate and count."""
    declared, fps = source.properties.frames_declared, source.properties.fps
    duration = declared / fps if declared and fps else None
    return planned_frames(options, declared, duration)


def _video(source: VideoSource) -> dict:
    """The results' `video` object: `frame_count` is the frames actually decoded."""
    fps = source.properties.fps
    decoded = source.frames_decoded
    return {
        "fps": round(fps, 6),
        "frame_count": decoded,
        "width": source.width,
        "height": source.height,
        "duration_s": round(decoded / fps, 6) if fps else 0.0,
        "frames_declared": source.properties.frames_declared,
    }


def _source_warnings(source: VideoSource) -> list[str]:
    """What the job must say about a video that did not decode whole (contract)."""
    warnings = []
    if source.damaged_spans:
        warnings.append(
            f"the video is damaged: decoding failed in {source.damaged_spans} place(s) and "
            "resumed after each; the frames that could not be decoded have no results"
        )
    if source.ended_early:
        warnings.append(
            f"decoding stopped after {source.frames_decoded} frames, but the container "
            f"declares {source.properties.frames_declared}: the file is truncated or damaged, "
            "and the results cover only the frames that could be decoded"
        )
    return warnings
