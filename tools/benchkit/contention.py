"""Figure 14: threads that share a machine (issue 22).

Two workers on two cores must each get about half the machine, not a tenth. Setups,
each a set of child processes started at once on the same clip:

- *alone*: one process whose CPU affinity is one core (`os.sched_setaffinity` on this
  process before the child starts; the child inherits it), with `workers_per_host=1`:
  its thread budget is that one core;
- *contended*: two processes on both cores (affinity {0, 1}, inherited the same way),
  `workers_per_host=2`: a budget of one thread each.

Each child does what a worker does for a job: `apply_thread_budget(settings)` first,
then the pipeline's models loaded and a short warm-up run (not timed), then all
children start together (a barrier) and run `VideoFilePipelineService.run` on the clip.
The ratio is the slower contended job's wall time over the alone job's (target <= 1.25:
each of two jobs on two cores as fast as one on one core, give or take a quarter). CPU
ms per frame is each child's own user + system time (all its threads) over its frames.
Other work on the machine slows the contended setup more (it needs both cores): the
load average around the figure is reported.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path

from benchkit.machine import load_average
from benchkit.report import Row, Section, table

TARGET = 1.25


@dataclass(frozen=True)
class JobRun:
    wall_s: float
    cpu_s: float
    frames: int
    threads: int  # the child's thread budget

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.frames)


@dataclass
class Contention:
    pipeline: str
    frames: int
    size: tuple[int, int]
    source: str
    alone: list[JobRun] = field(default_factory=list)  # fastest round
    contended: list[JobRun] = field(default_factory=list)  # its round's jobs
    load: tuple[str, str] = ("", "")
    cores: tuple[int, ...] = ()

    @property
    def ratio(self) -> float:
        return max(r.wall_s for r in self.contended) / self.alone[0].wall_s


def run_job(clip: str, warm_up: str, pipeline: str, workers: int, barrier: Barrier, out) -> None:
    """A child: the worker's thread budget, models loaded and warmed, then one timed job."""
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.thread_budget import apply_thread_budget
    from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
    from app.settings import Settings

    threads = apply_thread_budget(Settings(_env_file=None, workers_per_host=workers))
    service = VideoFilePipelineService(PipelineCatalog.load())
    service.run(warm_up, pipeline)
    barrier.wait(timeout=300)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    analysis = service.run(clip, pipeline)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    frames = int(analysis.frames_analysed or analysis.video["frame_count"])
    out.send(JobRun(wall, cpu_s, frames, threads))
    out.close()


def run_setup(clip: Path, warm_up: Path, pipeline: str, cores: set[int], jobs: int) -> list[JobRun]:
    """`jobs` children at once, each inheriting the CPU affinity `cores`."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(jobs)
    own = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # inherited by the children started now
    try:
        children = []
        for _ in range(jobs):
            receive, send = context.Pipe(duplex=False)
            args = (str(clip), str(warm_up), pipeline, jobs, barrier, send)
            process = context.Process(target=run_job, args=args, daemon=True)
            process.start()
            send.close()
            children.append((process, receive))
    finally:
        os.sched_setaffinity(0, own)
    runs = []
    for process, receive in children:
        try:
            if not receive.poll(900):
                raise RuntimeError("a contention child gave no result within 900 s")
            runs.append(receive.recv())
        finally:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    return runs


def measure_contention(
    clip: Path, warm_up: Path, frames: int, size: tuple[int, int], source: str,
    pipeline: str = "people", rounds: int = 2,
) -> Contention:  # fmt: skip
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        raise RuntimeError("the contention figure needs two usable cores")
    pair = set(usable[:2])
    figures = Contention(pipeline, frames, size, source, cores=tuple(usable[:2]))
    before = load_average()
    for _ in range(rounds):  # alternate; the fastest of each setup counts
        alone = run_setup(clip, warm_up, pipeline, {usable[0]}, 1)
        if not figures.alone or alone[0].wall_s < figures.alone[0].wall_s:
            figures.alone = alone
        both = run_setup(clip, warm_up, pipeline, pair, 2)
        worst = max(r.wall_s for r in both)
        if not figures.contended or worst < max(r.wall_s for r in figures.contended):
            figures.contended = both
    figures.load = (before, load_average())
    return figures


def describe_contention(figures: Contention) -> tuple[list[Row], Section]:
    alone = figures.alone[0]
    cpu = ", ".join(f"{r.cpu_ms:.1f}" for r in figures.contended)
    row = Row(
        f"14. two {figures.pipeline} jobs on 2 cores vs one on 1 core (wall time)",
        f"{figures.ratio:.2f}x; CPU ms/frame {cpu} vs {alone.cpu_ms:.1f}",
        f"<= {TARGET}x",
        figures.ratio <= TARGET,
        f"load average before {figures.load[0].split()[0]}, after {figures.load[1].split()[0]}",
    )
    detail = [
        ["alone, core " + str(figures.cores[0]), "1", str(alone.threads), *_cells(alone)]
    ] + [
        [f"contended, cores {figures.cores[0]}-{figures.cores[1]}", str(i + 1), str(r.threads),
         *_cells(r)]
        for i, r in enumerate(figures.contended)
    ]  # fmt: skip
    width, height = figures.size
    lines = [
        f"Clip: {figures.frames} frames of {width}x{height} at 30 fps, H.264, from "
        f"{figures.source}; pipeline `{figures.pipeline}`. Each job is a child process "
        "doing what a worker does: `apply_thread_budget(settings)` at start (decoder, "
        "OpenCV and onnxruntime threads; sessions never spin), models loaded and a short "
        "warm-up run, then every child of the setup starts at once (a barrier). The cores "
        "are limited with `os.sched_setaffinity` on the benchmark process just before it "
        "starts the children, which inherit it: *alone* is one child on one core "
        "(`workers_per_host=1`), *contended* two children on the same two cores "
        "(`workers_per_host=2`). Rounds alternate; the fastest of each setup is kept. "
        f"Ratio = the slower contended job's wall time / the alone job's: **{figures.ratio:.2f}x** "
        f"(target <= {TARGET}x). CPU ms per frame is each child's own user + system time. "
        f"Load average (1/5/15 min) before: {figures.load[0]}; after: {figures.load[1]} "
        "(other work slows the contended setup most, as it needs both cores).",
        "",
        *table("setup | job | threads | wall s | frames/s | CPU ms per frame", detail),
    ]
    return [row], Section("14. Threads that share a machine", lines)


def _cells(run: JobRun) -> list[str]:
    return [f"{run.wall_s:.2f}", f"{run.frames / run.wall_s:.1f}", f"{run.cpu_ms:.1f}"]
