"""VideoFilePipelineService: the frame loop. Decode an MP4, run a pipeline on every frame."""

from __future__ import annotations

import logging
from typing import Any

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.frame_source import FrameReader, open_video, read_properties
from app.domain.errors import PipelineInterrupted, VideoDecodeError
from app.domain.ports import (
    PipelineInfo,
    PipelineRunner,
    ProgressCallback,
    StopCheck,
    VideoAnalysis,
)

log = logging.getLogger(__name__)


class VideoFilePipelineService(PipelineRunner):
    """The OpenCV PipelineRunner: frames go to the steps as numpy BGR arrays, never
    re-encoded; each step adds its keys to the frame's result dict."""

    def __init__(self, catalog: PipelineCatalog, prefetch: int = 4) -> None:
        self.catalog = catalog
        self.prefetch = prefetch

    def pipelines(self) -> list[PipelineInfo]:
        return self.catalog.infos()

    def has_pipeline(self, pipeline_id: str) -> bool:
        return pipeline_id in {p.id for p in self.catalog.infos()}

    def run(
        self,
        video_path: str,
        pipeline_id: str,
        *,
        should_stop: StopCheck = lambda: False,
        on_progress: ProgressCallback | None = None,
    ) -> VideoAnalysis:
        steps = self.catalog.get(pipeline_id).build_steps()
        capture = open_video(video_path)
        properties = read_properties(capture)
        results: list[dict[str, Any]] = []
        width = height = 0
        for index, frame in enumerate(FrameReader(capture, self.prefetch)):
            if should_stop():
                raise PipelineInterrupted(f"stopped after {index} frames")
            height, width = frame.shape[:2]
            result: dict[str, Any] = {}
            for step in steps:
                step.process(frame, index, result)
            results.append({"frame_index": index, "result": result})
            if on_progress is not None:
                on_progress(index + 1, properties.frame_count_estimate or None)
        if not results:
            raise VideoDecodeError(
                "no frame could be decoded: the file is corrupt, truncated or has no video track"
            )
        fps = properties.fps
        return VideoAnalysis(
            video={
                "fps": round(fps, 6),
                "frame_count": len(results),
                "width": width or properties.width,
                "height": height or properties.height,
                "duration_s": round(len(results) / fps, 6) if fps else 0.0,
            },
            results=results,
        )
