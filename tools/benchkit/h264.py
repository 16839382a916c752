"""Figures 10 and 11: the worker's frame loop in this process on H.264 clips (the codec
real uploads use, generated with PyAV's libx264; generation is not timed).

Figure 11, the real-time factor: each pipeline through `VideoFilePipelineService.run`
on 300 frames of 720p at 30 fps, cut from real footage when the eval material is
installed (opencv-doc's vtest.avi and Megamind.avi), else from the generated scene clip;
raw decode of the same file is the ceiling. Figure 10, what `sample_fps=1` saves: one
pipeline with the shots and tracker stages over 10 minutes of the scene clip, every
frame then sampled, back to back. Both take wall time and this process's CPU time (all
threads: the reader thread, OpenCV's pool) around each run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.tracking import tracking_stages
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.domain.options import AnalysisOptions
from benchkit import clips
from benchkit.clips import H264_FPS as FPS
from benchkit.frames import decode_only
from benchkit.machine import Stopwatch, load_average
from benchkit.report import Row, Section, table

TARGETED = ("faces", "people")  # the pipelines that must keep up with a live camera


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    analysed: int
    decoded: int

    @property
    def fps(self) -> float:
        return self.analysed / self.wall_s

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / self.analysed


def timed_run(
    service: VideoFilePipelineService, clip: Path, pipeline: str, sample_fps: float | None = None
) -> Run:
    options = AnalysisOptions(sample_fps=sample_fps)
    with Stopwatch() as watch:
        analysis = service.run(str(clip), pipeline, options=options)
    decoded = int(analysis.video["frame_count"])
    return Run(watch.wall_s, watch.cpu_s, analysis.frames_analysed or decoded, decoded)


# -- figure 11: real-time factor -------------------------------------------------------
@dataclass
class Realtime:
    frames: int
    size: tuple[int, int]
    source: str
    decode_fps: float = 0.0
    runs: dict[str, Run] = field(default_factory=dict)
    load: tuple[str, str] = ("", "")  # 1-minute load average before and after


def measure_realtime(
    work: Path, fallback: Path, frames: int, size: tuple[int, int], pipelines: tuple[str, ...]
) -> Realtime:
    clip = work / "realtime_h264.mp4"
    clips.make_h264_clip(clip, clips.real_frames(frames, size, fallback), size)
    figures = Realtime(frames, size, clips.real_source_names())
    with Stopwatch() as watch:
        decoded = decode_only(clip)
    figures.decode_fps = decoded / watch.wall_s
    service = VideoFilePipelineService(PipelineCatalog.load())
    before = load_average().split()[0]
    for pipeline_id in pipelines:
        figures.runs[pipeline_id] = timed_run(service, clip, pipeline_id)
    figures.load = (before, load_average().split()[0])
    return figures


def describe_realtime(figures: Realtime) -> tuple[list[Row], Section]:
    decode = f"{figures.decode_fps / FPS:.2f}"
    rows = [
        Row(
            f"11. real-time factor, {p} (720p H.264 30 fps)",
            f"{run.fps / FPS:.2f}x",
            ">= 1.0x" if p in TARGETED else "",
            run.fps / FPS >= 1.0 if p in TARGETED else None,
            f"raw decode {figures.decode_fps / FPS:.1f}x",
        )
        for p, run in figures.runs.items()
    ]
    detail = [["raw decode (cv2 read loop)", f"{figures.decode_fps:.1f}", decode, "-"]]
    detail += [
        [p, f"{run.fps:.1f}", f"{run.fps / FPS:.2f}", f"{run.cpu_ms:.1f}"]
        for p, run in figures.runs.items()
    ]
    width, height = figures.size
    lines = [
        f"Clip: {figures.frames} frames of {width}x{height} at {FPS} fps, H.264 (libx264, "
        f"yuv420p), from {figures.source}. Real-time factor = frames per second through "
        f"`VideoFilePipelineService.run` / {FPS}; 1.0 keeps up with a live camera. Raw "
        "decode of the same file in the same run is the ceiling. CPU ms per frame is this "
        "process's CPU time (all its threads) over the frames: it does not depend on other "
        "load, and 2 cores give at most 2000 / (30 x CPU ms) real-time. Load average (1 "
        f"min) before and after: {figures.load[0]}, {figures.load[1]}; a figure measured "
        "beside other work is a lower bound.",
        "",
        *table("pipeline | frames per second | real-time factor | CPU ms per frame", detail),
    ]
    return rows, Section("11. Real-time factor on 720p H.264", lines)


# -- figure 10: what sampling saves ----------------------------------------------------
@dataclass(frozen=True)
class Sampling:
    pipeline: str
    seconds: int
    size: tuple[int, int]
    every: Run
    sampled: Run


def measure_sampling(work: Path, seconds: int, size: tuple[int, int], pipeline: str) -> Sampling:
    frames = clips.scene_frames(seconds * FPS, *size)
    clip = clips.make_h264_clip(work / "sampling.mp4", frames, size)
    service = VideoFilePipelineService(PipelineCatalog.load(None), stages=tracking_stages)
    every = timed_run(service, clip, pipeline)
    sampled = timed_run(service, clip, pipeline, sample_fps=1.0)
    return Sampling(pipeline, seconds, size, every, sampled)


def describe_sampling(figures: Sampling) -> tuple[list[Row], Section]:
    every, sampled = figures.every, figures.sampled
    width, height = figures.size
    length = f"{figures.seconds / 60:g} min" if figures.seconds >= 60 else f"{figures.seconds} s"
    row = Row(
        f"10. `sample_fps=1` on {length} of {height}p H.264 ({figures.pipeline})",
        f"{sampled.wall_s:.1f} s vs {every.wall_s:.1f} s wall; "
        f"{sampled.cpu_s:.1f} vs {every.cpu_s:.1f} CPU s",
        "reported",
        None,
        f"saves {1 - sampled.wall_s / every.wall_s:.0%} of the wall time and "
        f"{1 - sampled.cpu_s / every.cpu_s:.0%} of the CPU",
    )
    detail = [
        [
            name,
            str(run.analysed),
            str(run.decoded),
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
            "run | frames analysed | frames decoded | wall s | CPU s | video s per wall s", detail
        ),
    ]
    return [row], Section("10. Sampling: what `sample_fps=1` saves", lines)
