"""Figure 10: what `sample_fps=1` saves on a long H.264 clip, against every frame.

The same clip (H.264, as phones and cameras write it, generated with PyAV's libx264;
generation is not timed) runs through the worker's frame loop twice in this process,
back to back: every frame, then `sample_fps=1`. Wall time and this process's CPU time
(all threads: the reader thread, OpenCV's pool) are measured around each run. The loop
is the worker's (`VideoFilePipelineService` with the shots and tracker stages); the
sinks only count frames, so file writes are not part of either figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from benchkit.clips import scene_frames
from benchkit.report import Row, Section, table

FPS = 30


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    analysed: int
    decoded: int


@dataclass(frozen=True)
class Sampling:
    pipeline: str
    seconds: int
    size: tuple[int, int]
    every: Run
    sampled: Run


def make_h264_clip(path: Path, seconds: int, size: tuple[int, int]) -> Path:
    """`seconds` of the benchmark's scene clip at 30 fps, H.264 (yuv420p) in MP4."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"preset": "veryfast", "crf": "23"}
        for index, image in enumerate(scene_frames(seconds * FPS, width, height)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _run(clip: Path, pipeline: str, sample_fps: float | None) -> Run:
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.tracking import tracking_stages
    from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
    from app.domain.frames import Frame, FrameSink
    from app.domain.options import AnalysisOptions

    class Count(FrameSink):
        frames = 0

        def add(self, frame: Frame) -> None:
            self.frames += 1

    runner = VideoFilePipelineService(PipelineCatalog.load(None), stages=tracking_stages)
    sink = Count()
    cpu, wall = time.process_time(), time.perf_counter()
    analysis: Any = runner.run(
        str(clip), pipeline, options=AnalysisOptions(sample_fps=sample_fps), sinks=[sink]
    )
    return Run(
        time.perf_counter() - wall,
        time.process_time() - cpu,
        sink.frames,
        int(analysis.video["frame_count"]),
    )


def measure_sampling(work: Path, seconds: int, size: tuple[int, int], pipeline: str) -> Sampling:
    clip = make_h264_clip(work / "sampling.mp4", seconds, size)
    every = _run(clip, pipeline, None)
    sampled = _run(clip, pipeline, 1.0)
    return Sampling(pipeline, seconds, size, every, sampled)


def describe_sampling(figures: Sampling) -> tuple[list[Row], Section]:
    every, sampled = figures.every, figures.sampled
    wall_saved = 1 - sampled.wall_s / every.wall_s
    cpu_saved = 1 - sampled.cpu_s / every.cpu_s
    width, height = figures.size
    length = f"{figures.seconds / 60:g} min" if figures.seconds >= 60 else f"{figures.seconds} s"
    rows = [
        Row(
            f"10. `sample_fps=1` on {length} of {height}p H.264 ({figures.pipeline})",
            f"{sampled.wall_s:.1f} s vs {every.wall_s:.1f} s wall; "
            f"{sampled.cpu_s:.1f} vs {every.cpu_s:.1f} CPU s",
            "reported",
            None,
            f"saves {wall_saved:.0%} of the wall time and {cpu_saved:.0%} of the CPU",
        )
    ]
    detail = [
        [
            name,
            f"{run.analysed}",
            f"{run.decoded}",
            f"{run.wall_s:.1f}",
            f"{run.cpu_s:.1f}",
            f"{figures.seconds / run.wall_s:.1f}",
        ]
        for name, run in (("every frame", every), ("sample_fps=1", sampled))
    ]
    lines = [
        f"Clip: {figures.seconds} s at {FPS} fps, {width}x{height}, H.264 (libx264 "
        "`veryfast`, PyAV), the frame throughput figure's scenes. Pipeline "
        f"`{figures.pipeline}` with the shots and tracker stages, run in this process "
        "by the worker's frame loop, every frame then `sample_fps=1`, back to back. "
        "CPU is this process's user + system time (all threads). Sampling still decodes "
        "every frame (H.264 frames depend on the ones before; OpenCV's `grab()` skips the "
        "colour conversion and copy), so it saves the analysis, not the decoding.",
        "",
        *table(
            ["run", "frames analysed", "frames decoded", "wall s", "CPU s", "video s per wall s"],
            detail,
        ),
    ]
    return rows, Section("10. Sampling: what `sample_fps=1` saves", lines)
