"""Run every benchmark figure once and write the report.

`--only 14` (figure numbers, repeatable) runs those figures alone and, like `--quick`,
prints the report without writing docs/benchmarks.md: a figure's section is pasted by
hand. `--quick` uses tiny sizes to check the whole benchmark still runs; its numbers mean
nothing and it never writes docs/benchmarks.md (`make test` does not run it; its
test_bench_smoke.py checks that the code loads and renders). The exit status is
non-zero only when something is broken (an exception, a job that failed), never
because a target was missed.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.testing.processes import Services
from benchkit import backends, clips, contention, h264, limits, segments, service
from benchkit.cpu import describe_batches, measure_batches
from benchkit.frames import describe_frames, measure_frames
from benchkit.machine import REPO, load_average, machine, versions
from benchkit.report import Report, render
from benchkit.runtimes import describe_runtimes, measure_runtimes
from benchkit.search_index import describe_search, measure_search

DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Sizes:
    """How big each figure's workload is (the defaults: a full run)."""

    clip_frames: int = 300  # figure 1
    clip_size: tuple[int, int] = (1280, 720)
    repeats: int = 3  # whole-clip loops per pipeline (the fastest counts)
    detector_every: int = 5  # full-resolution detector timed on every n-th frame
    hop_jobs: int = 100  # figures 2, 3 and 7
    throughput_jobs: int = 50
    upload_bytes: int = 1 << 30  # figure 4
    submits: int = 200  # figure 5
    submit_clients: int = 16
    batch_jobs: int = 8  # figure 6
    batch_frames: int = 96
    batch_size: tuple[int, int] = (1280, 720)
    batch_pipeline: str = "people"
    batch_rounds: int = 3
    results_frames: int = 270_000  # figure 8: a ~41 MB results document
    worker_frames: int = 100_000  # figure 9: the worker's memory over a long job
    sampling_seconds: int = 600  # figure 10: a 10-minute clip
    sampling_size: tuple[int, int] = (1280, 720)
    sampling_pipeline: str = "faces"
    realtime_frames: int = 300  # figure 11: 10 s of 720p H.264 at 30 fps
    realtime_size: tuple[int, int] = (1280, 720)
    realtime_pipelines: tuple[str, ...] = (
        "faces", "people", "objects", "scene_cuts", "motion", "quality"
    )  # fmt: skip
    contention_frames: int = 300  # figure 14: 10 s of 720p H.264, people
    contention_size: tuple[int, int] = (1280, 720)
    contention_rounds: int = 2
    segments_seconds: int = 600  # figure 15: a 10-minute 720p clip, split
    segments_size: tuple[int, int] = (1280, 720)
    segment_s: float = 60.0


FULL = Sizes()
QUICK = Sizes(
    clip_frames=30,
    clip_size=(320, 240),
    repeats=1,
    hop_jobs=10,
    throughput_jobs=10,
    upload_bytes=8 << 20,
    submits=20,
    batch_jobs=2,
    batch_frames=10,
    batch_size=(320, 240),
    batch_rounds=1,
    results_frames=2_000,
    worker_frames=2_000,
    sampling_seconds=2,
    sampling_size=(160, 120),
    realtime_frames=10,
    realtime_size=(160, 120),
    realtime_pipelines=("faces", "scene_cuts"),
    contention_frames=6,
    contention_size=(160, 120),
    contention_rounds=1,
    segments_seconds=20,
    segments_size=(160, 120),
    segment_s=8.0,
)
FIGURES = tuple(range(1, 16))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/bench.py", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, to check every figure still runs; prints the report and leaves "
        f"{DEFAULT_OUTPUT.relative_to(REPO)} untouched",
    )
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        choices=FIGURES,
        metavar="N",
        help="run only figure N (repeatable); prints the report, writes no file",
    )
    return parser.parse_args(argv)


def run_all(sizes: Sizes, work: Path, only: set[int] | None = None) -> Report:
    """Every figure (or those in `only`), in an order where none disturbs the next (the
    CPU-heavy frame loops run first, in this process, before any service process)."""
    if only:
        return run_only(sizes, work, only)
    report = run_contention(sizes, work, Report())  # figure 14: before anything else loads
    clip = clips.make_scene_clip(work / "scene.mp4", sizes.clip_frames, *sizes.clip_size)
    tiny = clips.make_tiny_clip(work / "tiny.mp4")
    batch_clip = clips.make_scene_clip(work / "batch.mp4", sizes.batch_frames, *sizes.batch_size)

    step("1. frame throughput")
    frames = measure_frames(
        clip, sizes.clip_frames, sizes.clip_size, sizes.repeats, sizes.detector_every
    )
    report.add(*describe_frames(frames))

    report.add(*describe_runtimes(measure_runtimes(2 if sizes is QUICK else 15)))  # figure 12
    step("11. real-time factor on 720p H.264")
    realtime = h264.measure_realtime(
        work, clip, sizes.realtime_frames, sizes.realtime_size, sizes.realtime_pipelines
    )
    report.add(*h264.describe_realtime(realtime))

    step("10. what sample_fps=1 saves")
    sampling = h264.measure_sampling(
        work, sizes.sampling_seconds, sizes.sampling_size, sizes.sampling_pipeline
    )
    report.add(*h264.describe_sampling(sampling))

    setups = []
    for name, setup in (("embedded", backends.embedded), ("external", backends.redis_postgres)):
        step(f"2, 3, 7. queue hop, end-to-end, throughput ({name})")
        with setup() as backend:
            jobs = (sizes.hop_jobs, sizes.throughput_jobs)
            setups.append(service.measure_setup(work / name, backend, tiny, *jobs))
    report.add(*service.describe_setups(setups[0], setups[1:], sizes.throughput_jobs))

    step("4, 5. large upload and submit load (API only)")
    with Services(work / "api-only") as services:
        services.start_api()
        upload = service.large_upload(services, sizes.upload_bytes)
        load = service.submit_load(services, tiny, sizes.submits, sizes.submit_clients)
    report.add(*service.describe_upload(upload))
    report.add(*service.describe_submits(load))

    step("8. resource limits: the API's reads")
    report.add(*limits.describe_api_limits(limits.measure_api_limits(work, sizes.results_frames)))

    step("9. resource limits: the worker's memory over a long job")
    worker = limits.measure_worker_limits(work, sizes.worker_frames)
    report.add(*limits.describe_worker_limits(worker))
    report.add(*describe_search(measure_search(work / "search", 500 if sizes is QUICK else 10_000)))

    run_segments(sizes, work, report)
    step("6. CPU-bound batch, 1 and 2 workers")
    batch = (sizes.batch_frames, sizes.batch_pipeline, sizes.batch_jobs, sizes.batch_rounds)
    batches = measure_batches(work / "cpu", batch_clip, *batch)
    report.add(*describe_batches(batches, sizes.batch_pipeline, sizes.batch_size))
    return report


def run_only(sizes: Sizes, work: Path, only: set[int]) -> Report:
    unsupported = only - {14, 15}
    if unsupported:
        raise SystemExit(f"--only supports figures 14 and 15 for now, not {sorted(unsupported)}")
    report = Report()
    if 14 in only:
        run_contention(sizes, work, report)
    if 15 in only:
        run_segments(sizes, work, report)
    return report


def run_segments(sizes: Sizes, work: Path, report: Report) -> Report:
    step("15. one long video split over 1 and 2 pinned workers")
    figures = segments.measure_segments(
        work / "segments", sizes.segments_seconds, sizes.segments_size, sizes.segment_s
    )
    report.add(*segments.describe_segments(figures))
    return report


def run_contention(sizes: Sizes, work: Path, report: Report) -> Report:
    step("14. threads that share a machine (two people jobs on 2 cores vs one on 1)")
    size, count = sizes.contention_size, sizes.contention_frames
    fallback = clips.make_scene_clip(work / "contention-scene.mp4", min(count, 100), *size)
    clip = clips.make_h264_clip(
        work / "contention.mp4", clips.real_frames(count, size, fallback), size
    )
    warm_up = clips.make_h264_clip(
        work / "contention-warm.mp4", clips.real_frames(3, size, fallback), size
    )
    figures = contention.measure_contention(
        clip, warm_up, count, size, clips.real_source_names(), rounds=sizes.contention_rounds
    )
    report.add(*contention.describe_contention(figures))
    return report


def step(name: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every `finally` stops its processes."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with &
    sizes = QUICK if args.quick else FULL
    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    command = shlex.join([str(python), "tools/bench.py", *(sys.argv[1:] if argv is None else argv)])
    started = datetime.now(UTC)
    host = machine()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="video-jobs-bench-") as work:
        report = run_all(sizes, Path(work), set(args.only or ()))
        text = render(
            report,
            machine=host,
            versions=versions(),
            command=command,
            started=started.strftime("%Y-%m-%d %H:%M"),
            duration_s=time.monotonic() - began,
            load_after=load_average(),
            quick=args.quick,
        )
    print(text)
    if args.quick or args.only:
        step("quick or --only: report printed above; docs/benchmarks.md untouched")
    else:
        DEFAULT_OUTPUT.write_text(text, encoding="utf-8")
        step(f"report written to {DEFAULT_OUTPUT}")
    return 0
