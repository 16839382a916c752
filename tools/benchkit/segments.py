"""Figure 15: one long video on 1 and 2 workers, split into segments.

The same 720p H.264 clip (a keyframe every `gop` frames, as cameras and phones write
it) runs three ways on a fresh service each: unsplit on one worker, split on one
worker, split on two workers. Each worker is pinned to its own core: the benchmark
sets its own CPU affinity to that core just before starting the worker, which the
child process inherits (`os.sched_setaffinity`, what `taskset` does), then restores it.
Wall time runs from the submit to the parent's completion; the merge's own time from
the last segment's completion to the parent's (the job rows' `updated_at`).

From these the projection: a segment costs its share of the unsplit work (its length
plus the overlap) plus a fixed overhead per segment (claim, seek, model warm-up, the
end-of-segment pass), measured as (split on 1 worker - unsplit - merge) / segments;
the merge grows with the video's length. Each worker first runs one tiny warm-up job
(its models load lazily, once per process). W workers then take
ceil(N / W) x (segment work + overhead) + merge.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from app.testing.processes import Services
from benchkit import clips
from benchkit.machine import load_average
from benchkit.report import Row, Section, table
from benchkit.service import wait_completed

OVERLAP_S = 3.0  # the service's default VIDEO_JOBS_SEGMENT_OVERLAP_S


@dataclass(frozen=True)
class SplitRun:
    label: str
    workers: int
    split: bool
    wall_s: float
    segments: int
    merge_s: float  # last segment completed -> parent completed (0 when unsplit)


@dataclass(frozen=True)
class SplitFigures:
    video_s: float
    size: tuple[int, int]
    gop: int
    segment_s: float
    pipeline: str
    sample_fps: float
    runs: list[SplitRun]
    load: tuple[str, str] = ("", "")  # the load average before and after the runs

    def run(self, workers: int, split: bool) -> SplitRun:
        return next(r for r in self.runs if r.workers == workers and r.split == split)


@contextmanager
def pinned(core: int) -> Iterator[None]:
    """This process (and so every child started meanwhile) on one core only."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def cores_to_pin(count: int) -> list[int]:
    """`count` distinct cores this process may use (the same one twice on a 1-core box)."""
    allowed = sorted(os.sched_getaffinity(0))
    return [allowed[i % len(allowed)] for i in range(count)]


def _submit(services: Services, clip: Path, pipeline: str, sample_fps: float, split: bool) -> str:
    data = {"pipeline_id": pipeline, "sample_fps": str(sample_fps), "split": str(split).lower()}
    with open(clip, "rb") as handle:
        response = services.client.post(
            "/video/submit", files={"file": (clip.name, handle, "video/mp4")}, data=data
        )
    response.raise_for_status()
    return str(response.json()["job_id"])


def _segment_rows(services: Services, parent_id: str) -> list[dict]:
    """The parent's segments as the job list shows them with `include_segments`."""
    rows: list[dict] = []
    offset = 0
    while True:
        page = services.client.get(
            "/video/jobs", params={"include_segments": "true", "limit": 100, "offset": offset}
        ).json()
        items = page["jobs"]
        rows += [item for item in items if item.get("parent_id") == parent_id]
        if len(items) < 100:
            return rows
        offset += 100


def run_once(
    root: Path, clip: Path, figures: dict, workers: int, split: bool, timeout: float
) -> SplitRun:
    """One run on a fresh service, after one warm-up job per worker (the models load
    lazily, once per process: a cost of the worker, not of the segments)."""
    settings = {"split_min_s": 1 if split else 0, "segment_s": figures["segment_s"]}
    with Services(root, **settings) as services:
        services.start_api()
        for core in cores_to_pin(workers):
            with pinned(core):
                services.start_workers(1)
        tiny = clips.make_tiny_clip(root / "tiny.mp4")
        warm_up = [services.submit(tiny, figures["pipeline"]) for _ in range(workers)]
        wait_completed(services, warm_up, timeout=timeout)
        job_id = _submit(services, clip, figures["pipeline"], figures["sample_fps"], split)
        submitted = services.job_row(job_id).created_at.timestamp()
        (parent,) = wait_completed(services, [job_id], timeout=timeout, poll_s=0.5)
        finished = parent.updated_at.timestamp()
        segments = _segment_rows(services, job_id) if split else []
    last_segment = max((_timestamp(row["updated_at"]) for row in segments), default=finished)
    plural = "s" if workers > 1 else ""
    return SplitRun(
        label=f"{'split' if split else 'unsplit'}, {workers} worker{plural}",
        workers=workers,
        split=split,
        wall_s=finished - submitted,
        segments=len(segments),
        merge_s=max(0.0, finished - last_segment),
    )


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def measure_segments(
    work: Path,
    seconds: int,
    size: tuple[int, int],
    segment_s: float,
    gop: int = 60,
    pipeline: str = "people",
    sample_fps: float = 2.0,
) -> SplitFigures:
    work.mkdir(parents=True, exist_ok=True)
    frames = clips.scene_frames(seconds * clips.H264_FPS, *size)
    clip = clips.make_h264_clip(work / "long.mp4", frames, size, gop=gop)
    figures = {"segment_s": segment_s, "pipeline": pipeline, "sample_fps": sample_fps}
    timeout = max(600.0, 6.0 * seconds)
    before = load_average()
    runs = [
        run_once(work / name, clip, figures, workers, split, timeout)
        for name, workers, split in (
            ("unsplit", 1, False),
            ("split1", 1, True),
            ("split2", 2, True),
        )
    ]
    figures_ = SplitFigures(seconds, size, gop, segment_s, pipeline, sample_fps, runs)
    return replace(figures_, load=(before, load_average()))


def projected_wall(
    unsplit_s: float,
    video_s: float,
    segment_s: float,
    overhead_s: float,
    merge_s: float,
    workers: int,
) -> float:
    """The cost model of the module docstring, for a video of `video_s` seconds."""
    segments = max(1, math.ceil(video_s / segment_s))
    per_segment = unsplit_s * min(video_s, segment_s + OVERLAP_S) / video_s + overhead_s
    return math.ceil(segments / workers) * per_segment + merge_s


def best_segment(
    unsplit_s: float, video_s: float, overhead_s: float, merge_s: float, workers: int
) -> tuple[float, float]:
    """The segment length (10 s steps) with the highest projected speed-up, and it."""
    best = (video_s, 1.0)
    for segment_s in range(10, int(video_s) + 1, 10):
        wall = projected_wall(unsplit_s, video_s, segment_s, overhead_s, merge_s, workers)
        if unsplit_s / wall > best[1]:
            best = (float(segment_s), unsplit_s / wall)
    return best


def describe_segments(figures: SplitFigures) -> tuple[list[Row], Section]:
    unsplit, one, two = figures.run(1, False), figures.run(1, True), figures.run(2, True)
    speedup = one.wall_s / two.wall_s
    overhead = max(0.0, (one.wall_s - unsplit.wall_s - one.merge_s) / max(1, one.segments))
    merge_per_video_s = one.merge_s / figures.video_s
    width, height = figures.size
    minutes = (
        f"{figures.video_s / 60:g}-minute" if figures.video_s >= 60 else f"{figures.video_s:g} s"
    )
    rows = [
        Row(
            f"15. {minutes} {height}p clip split in {one.segments}, 2 workers vs 1 (pinned)",
            f"{two.wall_s:.1f} s vs {one.wall_s:.1f} s ({speedup:.2f}x); merge {one.merge_s:.1f} s",
            "≥ 1.8x",
            speedup >= 1.8,
            f"load average before {figures.load[0]}, after {figures.load[1]}",
        )
    ]
    cells = [
        [r.label, f"{r.wall_s:.1f}", str(r.segments or "-"), f"{r.merge_s:.1f}"]
        for r in figures.runs
    ]
    projection = []
    for video_s in (figures.video_s, 7200.0):
        unsplit_s = unsplit.wall_s * video_s / figures.video_s
        merge_s = merge_per_video_s * video_s
        for workers in (8, 32):
            wall = projected_wall(unsplit_s, video_s, figures.segment_s, overhead, merge_s, workers)
            segment_s, best = best_segment(unsplit_s, video_s, overhead, merge_s, workers)
            projection.append(
                [
                    f"{video_s / 60:g} min",
                    str(workers),
                    f"{unsplit_s / wall:.1f}x ({unsplit_s / wall / workers:.2f} of linear)",
                    f"{segment_s:g} s: {best:.1f}x ({best / workers:.2f} of linear)",
                ]
            )
    lines = [
        f"Clip: {minutes} of {width}x{height} H.264 at {clips.H264_FPS} fps (libx264 "
        f"`veryfast`, a keyframe every {figures.gop} frames), the frame throughput "
        f"figure's scenes. Pipeline `{figures.pipeline}` at `sample_fps={figures.sample_fps:g}`; "
        f"segments of {figures.segment_s:g} s overlapping by {OVERLAP_S:g} s. Each run on a "
        "fresh API (SQLite, Manager queue) with its workers pinned one per core "
        "(CPU affinity set before the worker starts and inherited, as `taskset` does). "
        "Wall: submit → the parent's completion; merge: the last segment's completion → "
        "the parent's (the rows' `updated_at`).",
        "",
        *table("run | wall s | segments | merge s", cells),
        "",
        f"Measured overhead per segment: {overhead:.2f} s; merge: "
        f"{1000 * merge_per_video_s:.1f} ms per second of video. Projection (see the "
        "module docstring for the model) with today's segment size and with the best one:",
        "",
        *table("video | workers | today's segments | best segment size", projection),
    ]
    return rows, Section("15. One long video across workers", lines)
