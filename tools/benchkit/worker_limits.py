"""Figure 9: the worker's memory on a long job: peak RSS over a 100,000-frame
16x16 clip at 1000 fps, measured on a real worker process from a warmed-up baseline.

The worker writes results as frames are analysed (the .jsonl, its index, then the
document copied from the .jsonl), so its memory should not grow with the frame count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.testing.processes import ServiceError, Services
from benchkit import clips
from benchkit.machine import memory_kib, reset_peak_rss
from benchkit.report import Row, Section
from benchkit.service import RssSampler


@dataclass
class WorkerLimits:
    frames: int
    pipeline: str
    rss_idle_kib: int = 0
    rss_warm_kib: int = 0
    rss_peak_kib: int = 0
    wall_s: float = 0.0
    results_bytes: int = 0

    @property
    def growth_mib(self) -> float:
        return (self.rss_peak_kib - self.rss_warm_kib) / 1024


def make_frame_bomb(path: Path, frames: int) -> Path:
    """`frames` frames of 16x16 at 1000 fps (mp4v): many frames in very few bytes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 1000, (16, 16))
    shades = [np.full((16, 16, 3), value, np.uint8) for value in range(0, 250, 10)]
    for i in range(frames):
        writer.write(shades[i % len(shades)])
    writer.release()
    return path


def measure_worker_limits(work: Path, frames: int, pipeline: str = "motion") -> WorkerLimits:
    bomb = make_frame_bomb(work / "frame-bomb.mp4", frames)
    tiny = clips.make_tiny_clip(work / "warm-up.mp4")
    result = WorkerLimits(frames, pipeline)
    with Services(work / "worker-limits") as services:
        services.start_api()
        (worker,) = services.start_workers(1)
        result.rss_idle_kib = memory_kib(worker.pid, "VmRSS")
        (warm,) = services.wait_finished([services.submit(tiny, pipeline)], timeout=120)
        if warm.status.value != "completed":
            raise ServiceError(f"warm-up job ended {warm.status.value}: {warm.error_message}")
        result.rss_warm_kib = memory_kib(worker.pid, "VmRSS")
        hwm = reset_peak_rss(worker.pid)
        started = time.perf_counter()
        with RssSampler(worker.pid, interval=0.05) as sampler:
            job_id = services.submit(bomb, pipeline)
            (job,) = services.wait_finished([job_id], timeout=3600, poll_s=0.5)
        result.wall_s = time.perf_counter() - started
        if job.status.value != "completed":
            raise ServiceError(f"job {job_id} ended {job.status.value}: {job.error_message}")
        peak = memory_kib(worker.pid, "VmHWM") if hwm else 0
        result.rss_peak_kib = max(sampler.peak_kib, peak)
        document = services.data_dir / "video_jobs" / f"{job_id}_results.json"
        result.results_bytes = document.stat().st_size
    return result


def describe_worker_limits(limits: WorkerLimits) -> tuple[list[Row], Section]:
    met = limits.growth_mib <= 64
    rows = [
        Row(
            f"9. worker peak memory over a {limits.frames:,}-frame job",
            f"+{limits.growth_mib:.1f} MiB",
            "RSS growth ≤ 64 MB",
            met,
        )
    ]
    section = Section(
        "9. Resource limits: the worker",
        [
            f"One worker process (as `make run` starts it) ran a warm-up job, then the "
            f"`{limits.pipeline}` pipeline over {limits.frames:,} frames of 16x16 at 1000 fps "
            f"(mp4v), in {limits.wall_s:.1f} s ({limits.frames / limits.wall_s:,.0f} frames/s), "
            f"writing a {limits.results_bytes / 1e6:.1f} MB results document. Worker VmRSS: "
            f"{limits.rss_idle_kib / 1024:.1f} MiB idle, {limits.rss_warm_kib / 1024:.1f} MiB "
            f"after the warm-up job, peak {limits.rss_peak_kib / 1024:.1f} MiB during the job "
            f"(**+{limits.growth_mib:.1f} MiB**; VmRSS sampled every 50 ms and VmHWM after "
            "a clear_refs reset).",
            "Before results were written as frames were analysed, the same worker held "
            "every frame's result until the end: it grew by +411 MB over 600,000 "
            "frames (0.68 KB per frame, never given back).",
        ],
    )
    return rows, section
