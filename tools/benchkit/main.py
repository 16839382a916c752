"""Run every benchmark figure once and write the report.

`--quick` uses tiny sizes to check the whole benchmark still runs; its numbers mean
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
from benchkit import backends, clips
from benchkit.api_limits import describe_api_limits, measure_api_limits
from benchkit.cpu import describe_batches, measure_batches
from benchkit.frames import describe_frames, measure_frames
from benchkit.machine import REPO, load_average, machine, versions
from benchkit.realtime import describe_realtime, measure_realtime
from benchkit.report import Report, render
from benchkit.sampling import describe_sampling, measure_sampling
from benchkit.search_index import describe_search, measure_search
from benchkit.service import (
    describe_setups,
    describe_submits,
    describe_upload,
    large_upload,
    measure_setup,
    submit_load,
)
from benchkit.worker_limits import describe_worker_limits, measure_worker_limits

DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Sizes:
    """How big each figure's workload is."""

    clip_frames: int
    clip_size: tuple[int, int]
    repeats: int  # whole-clip loops per pipeline (the fastest counts)
    detector_every: int  # full-resolution detector timed on every n-th frame
    hop_jobs: int
    throughput_jobs: int
    upload_bytes: int
    submits: int
    submit_clients: int
    batch_jobs: int
    batch_frames: int
    batch_size: tuple[int, int]
    batch_pipeline: str
    batch_rounds: int
    results_frames: int = 270_000  # figure 8: a ~41 MB results document
    sampling_seconds: int = 600  # figure 10: a 10-minute clip
    sampling_size: tuple[int, int] = (1280, 720)
    sampling_pipeline: str = "faces"
    worker_frames: int = 100_000  # figure 9: the worker's memory over a long job


FULL = Sizes(
    clip_frames=300,
    clip_size=(1280, 720),
    repeats=3,
    detector_every=5,
    hop_jobs=100,
    throughput_jobs=50,
    upload_bytes=1 << 30,
    submits=200,
    submit_clients=16,
    batch_jobs=8,
    batch_frames=96,
    batch_size=(1280, 720),
    batch_pipeline="people",
    batch_rounds=3,
)
QUICK = Sizes(
    clip_frames=30,
    clip_size=(320, 240),
    repeats=1,
    detector_every=5,
    hop_jobs=10,
    throughput_jobs=10,
    upload_bytes=8 << 20,
    submits=20,
    submit_clients=16,
    batch_jobs=2,
    batch_frames=10,
    batch_size=(320, 240),
    batch_pipeline="people",
    batch_rounds=1,
    results_frames=2_000,
    worker_frames=2_000,
    sampling_seconds=2,
    sampling_size=(160, 120),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/bench.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes; checks it runs")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the report (default: {DEFAULT_OUTPUT.relative_to(REPO)}; "
        "with --quick: standard output only)",
    )
    return parser.parse_args(argv)


def run_all(sizes: Sizes, work: Path) -> Report:
    """Every figure, in an order where none disturbs the next (the CPU-heavy frame loops
    run first, in this process, before any service process exists)."""
    report = Report()
    clip = clips.make_scene_clip(work / "scene.mp4", sizes.clip_frames, *sizes.clip_size)
    tiny = clips.make_tiny_clip(work / "tiny.mp4")
    batch_clip = clips.make_scene_clip(work / "batch.mp4", sizes.batch_frames, *sizes.batch_size)

    step("1. frame throughput")
    frames = measure_frames(
        clip, sizes.clip_frames, sizes.clip_size, sizes.repeats, sizes.detector_every
    )
    report.add(*describe_frames(frames))

    step("11. real-time factor on 720p H.264")
    report.add(*describe_realtime(measure_realtime(work, clip, quick=sizes is QUICK)))

    step("10. what sample_fps=1 saves")
    report.add(
        *describe_sampling(
            measure_sampling(
                work, sizes.sampling_seconds, sizes.sampling_size, sizes.sampling_pipeline
            )
        )
    )

    step("2, 3, 7. queue hop, end-to-end, throughput (embedded)")
    with backends.embedded() as backend:
        embedded = measure_setup(
            work / "embedded", backend, tiny, sizes.hop_jobs, sizes.throughput_jobs
        )
    step("7. the same on Redis + PostgreSQL")
    with backends.redis_postgres() as backend:
        external = measure_setup(
            work / "external", backend, tiny, sizes.hop_jobs, sizes.throughput_jobs
        )
    report.add(*describe_setups(embedded, [external], sizes.throughput_jobs))

    step("4, 5. large upload and submit load (API only)")
    with Services(work / "api-only") as services:
        services.start_api()
        upload = large_upload(services, sizes.upload_bytes)
        load = submit_load(services, tiny, sizes.submits, sizes.submit_clients)
    report.add(*describe_upload(upload))
    report.add(*describe_submits(load))

    step("8. resource limits: the API's reads")
    report.add(*describe_api_limits(measure_api_limits(work, sizes.results_frames)))

    step("9. resource limits: the worker's memory over a long job")
    report.add(*describe_worker_limits(measure_worker_limits(work, sizes.worker_frames)))
    report.add(*describe_search(measure_search(work / "search", 500 if sizes is QUICK else 10_000)))

    step("6. CPU-bound batch, 1 and 2 workers")
    batches = measure_batches(
        work / "cpu",
        batch_clip,
        sizes.batch_frames,
        sizes.batch_pipeline,
        sizes.batch_jobs,
        sizes.batch_rounds,
    )
    report.add(*describe_batches(batches, sizes.batch_pipeline, sizes.batch_size))
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
        report = run_all(sizes, Path(work))
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
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    if output is None:
        step("quick mode: report printed above; docs/benchmarks.md untouched")
    else:
        output.write_text(text, encoding="utf-8")
        step(f"report written to {output}")
    return 0
