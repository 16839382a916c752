"""Figure 11: real-time factor of each pipeline on a 720p H.264 clip at 30 fps.

Real-time factor = seconds of video per second of wall time through the worker's own
frame loop (`VideoFilePipelineService.run`): 1.0 keeps up with a live 30 fps camera.
Raw decode of the same file in the same run is the ceiling. The clip is H.264 (PyAV's
libx264, the codec real uploads use), cut from real footage when the eval material is
installed (opencv-doc's vtest.avi and Megamind.avi, upscaled to 720p), else from the
benchmark's generated scene clip.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from benchkit.report import Row, Section, table

PIPELINES = ("faces", "people", "objects", "scene_cuts", "motion", "quality")
QUICK_PIPELINES = ("faces", "scene_cuts")  # --quick checks the code runs, fast
REAL_SOURCES = (
    Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi"),
)
FPS = 30
SIZES = {False: (300, (1280, 720)), True: (10, (160, 120))}  # quick? -> frames, size


@dataclass
class RealtimeFigures:
    frames: int
    size: tuple[int, int]
    source: str
    codec: str
    decode_fps: float = 0.0
    fps: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # this process's CPU per frame
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    def factor(self, fps: float) -> float:
        return fps / FPS


def _source_frames(fallback: Path, count: int, size: tuple[int, int]):
    sources = [p for p in REAL_SOURCES if p.is_file()] or [fallback]
    made = 0
    while made < count:
        for path in sources:
            capture = cv2.VideoCapture(str(path))
            while made < count:
                ok, frame = capture.read()
                if not ok:
                    break
                yield cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
                made += 1
            capture.release()


def make_h264_clip(path: Path, fallback: Path, frames: int, size: tuple[int, int]) -> str:
    """Encode `frames` frames of `size` at 30 fps with libx264; returns the source name."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for image in _source_frames(fallback, frames, size):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    real = [p.name for p in REAL_SOURCES if p.is_file()]
    return " and ".join(real) if real else "the generated scene clip"


def _decode(path: Path) -> int:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def measure_realtime(work: Path, fallback: Path, quick: bool) -> RealtimeFigures:
    frames, size = SIZES[quick]
    clip = work / "realtime_720p_h264.mp4"
    source = make_h264_clip(clip, fallback, frames, size)
    figures = RealtimeFigures(frames, size, source, "H.264 (libx264, yuv420p)")
    started = time.perf_counter()
    decoded = _decode(clip)
    figures.decode_fps = decoded / (time.perf_counter() - started)
    service = VideoFilePipelineService(PipelineCatalog.load())
    load_before = os.getloadavg()[0]
    for pipeline_id in QUICK_PIPELINES if quick else PIPELINES:
        started, cpu = time.perf_counter(), time.process_time()
        analysis = service.run(str(clip), pipeline_id)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        count = analysis.frames_analysed or decoded
        figures.fps[pipeline_id] = count / elapsed
        figures.cpu_ms[pipeline_id] = 1000 * cpu / count
    figures.load = (load_before, os.getloadavg()[0])
    return figures


def describe_realtime(figures: RealtimeFigures) -> tuple[list[Row], Section]:
    rows = [
        Row(
            f"11. real-time factor, {p} (720p H.264 30 fps)",
            f"{figures.factor(fps):.2f}x",
            ">= 1.0x" if p in ("faces", "people") else "",
            figures.factor(fps) >= 1.0 if p in ("faces", "people") else None,
            f"raw decode {figures.factor(figures.decode_fps):.1f}x",
        )
        for p, fps in figures.fps.items()
    ]
    width, height = figures.size
    detail = [["raw decode (cv2 read loop)", f"{figures.decode_fps:.1f}",
               f"{figures.factor(figures.decode_fps):.2f}", "-"]]  # fmt: skip
    detail += [
        [p, f"{fps:.1f}", f"{figures.factor(fps):.2f}", f"{figures.cpu_ms[p]:.1f}"]
        for p, fps in figures.fps.items()
    ]
    section = Section(
        "11. Real-time factor on 720p H.264",
        [
            f"Clip: {figures.frames} frames of {width}x{height} at {FPS} fps, "
            f"{figures.codec}, from {figures.source}. Real-time factor = frames per second "
            f"through `VideoFilePipelineService.run` / {FPS}; 1.0 keeps up with a live "
            "camera. Raw decode of the same file in the same run is the ceiling. CPU ms per "
            "frame is this process's CPU time (all its threads) over the frames: it does not "
            "depend on other load, and 2 cores give at most 2000 / (30 x CPU ms) real-time. "
            f"Load average (1 min) before and after: {figures.load[0]:.2f}, "
            f"{figures.load[1]:.2f}; a figure measured beside other work is a lower bound.",
            "",
            *table(
                ["pipeline", "frames per second", "real-time factor", "CPU ms per frame"], detail
            ),
        ],
    )
    return rows, section
