"""Figure 6: does a batch of CPU-bound jobs use the whole machine?

A batch of identical jobs goes to 1 worker, then to 2 workers. Its wall time runs from
the first submit to the last completion (the job rows' `updated_at`); the CPU the
workers used is the sum of their processes' utime + stime (all threads: frame loop,
reader thread, OpenCV's pool) from /proc/<pid>/stat, as a share of wall time x cores.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from app.testing.processes import Services
from benchkit.machine import cpu_seconds, machine_cpu_seconds
from benchkit.report import Row, Section, table
from benchkit.service import wait_completed


@dataclass(frozen=True)
class Batch:
    label: str
    workers: int
    jobs: int
    frames: int
    wall_s: float  # first submit -> last job completed
    window_s: float  # first submit -> the bench saw them all done (the CPU was read then)
    workers_cpu_s: float
    service_cpu_s: float  # the API and this benchmark process
    machine_busy_s: float  # every process on the machine
    cores: int

    def share(self, cpu_s: float) -> float:
        return cpu_s / (self.window_s * self.cores)

    @property
    def cpu_share(self) -> float:
        return self.share(self.workers_cpu_s)

    @property
    def outside_share(self) -> float:
        """Busy time that was neither the workers nor the API nor the benchmark."""
        ours = self.workers_cpu_s + self.service_cpu_s
        return max(0.0, self.share(self.machine_busy_s - ours))

    @property
    def idle_share(self) -> float:
        return max(0.0, 1.0 - self.share(self.machine_busy_s))

    @property
    def fps(self) -> float:
        return self.jobs * self.frames / self.wall_s


def run_batch(
    services: Services, label: str, clip: Path, frames: int, pipeline_id: str, jobs: int
) -> Batch:
    """Submit `jobs` jobs at once to the workers already running, wait for all."""
    assert services.api is not None
    api_pid = services.api.pid
    workers = [worker.pid for worker in services.workers]

    def readings() -> tuple[float, float, float]:
        service = cpu_seconds(api_pid) + time.process_time()
        return sum(cpu_seconds(pid) for pid in workers), service, machine_cpu_seconds()[0]

    before = readings()
    started = time.time()
    job_ids = [services.submit(clip, pipeline_id) for _ in range(jobs)]
    finished = wait_completed(services, job_ids, timeout=600)
    after = readings()
    window = time.time() - started
    used = [b - a for a, b in zip(before, after, strict=True)]
    return Batch(
        label=label,
        workers=len(workers),
        jobs=jobs,
        frames=frames,
        wall_s=max(job.updated_at.timestamp() for job in finished) - started,
        window_s=window,
        workers_cpu_s=used[0],
        service_cpu_s=used[1],
        machine_busy_s=used[2],
        cores=os.cpu_count() or 1,
    )


def measure_batches(
    root: Path, clip: Path, frames: int, pipeline_id: str, jobs: int, rounds: int
) -> list[Batch]:
    """The same batch on 1 worker, then on 2, each on a fresh service; `rounds` times,
    alternating, so a burst of outside load cannot favour one setup."""
    batches = []
    for round_ in range(rounds):
        for workers in (1, 2):
            with Services(root / f"cpu-{round_}-{workers}") as services:
                services.start_api()
                services.start_workers(workers)
                # One warm-up job per worker: lazy imports, cascade loading, file cache.
                warm_up = [services.submit(clip, pipeline_id) for _ in range(workers)]
                wait_completed(services, warm_up)
                label = f"{workers} worker{'s' if workers > 1 else ''}, round {round_ + 1}"
                batches.append(run_batch(services, label, clip, frames, pipeline_id, jobs))
    return batches


def fastest(batches: list[Batch], workers: int) -> Batch:
    return min((b for b in batches if b.workers == workers), key=lambda b: b.wall_s)


def describe_batches(
    batches: list[Batch], pipeline_id: str, size: tuple[int, int]
) -> tuple[list[Row], Section]:
    one, two = fastest(batches, 1), fastest(batches, 2)
    met = two.cpu_share >= 0.85 and two.wall_s <= one.wall_s
    rows = [
        Row(
            f"6. {one.jobs} x {pipeline_id} jobs, 1 worker",
            f"{one.wall_s:.1f} s; workers' CPU {100 * one.cpu_share:.0f}% of the machine",
            "reported (baseline)",
            None,
        ),
        Row(
            f"6. {two.jobs} x {pipeline_id} jobs, 2 workers",
            f"{two.wall_s:.1f} s ({one.wall_s / two.wall_s:.2f} x 1 worker's speed); "
            f"workers' CPU {100 * two.cpu_share:.0f}%",
            "CPU ≥ 85% and wall ≤ 1 worker's",
            met,
            "" if met else _batch_note(two),
        ),
    ]
    cells = [
        [
            b.label,
            f"{b.wall_s:.2f} s",
            f"{b.fps:.1f}",
            f"{b.workers_cpu_s:.1f} s",
            f"{100 * b.cpu_share:.0f}%",
            f"{100 * b.share(b.service_cpu_s):.0f}%",
            f"{100 * b.outside_share:.0f}%",
            f"{100 * b.idle_share:.0f}%",
        ]
        for b in batches
    ]
    rounds = len(batches) // 2
    section = Section(
        "6. Using the whole machine",
        [
            f"A batch of {one.jobs} `{pipeline_id}` jobs on a {one.frames}-frame "
            f"{size[0]}x{size[1]} clip, submitted at once to a fresh API with 1 or 2 workers "
            f"(after one warm-up job per worker); {rounds} round(s), alternating 1 and 2 "
            "workers, the summary keeps each setup's fastest. Wall time: first submit → "
            "last job completed (`updated_at`). CPU: the sum over the worker processes of "
            "utime + stime (/proc/<pid>/stat, all threads) over the batch, divided by "
            f"wall time x {one.cores} cores. Each worker runs its frame loop, its reader "
            "thread and OpenCV's own thread pool (one thread per core, the default).",
            "The shares are of the cores over the batch (first submit → the benchmark saw "
            "the last job done): *API + bench* are those two processes; *other load* is the "
            "rest of the machine's busy time (/proc/stat), work outside the benchmark; "
            "*idle* is what nobody used.",
            "",
            *table(
                "setup | wall | frames/s (all jobs) | worker CPU | workers' share | "
                "API + bench | other load | idle",
                cells,
            ),
        ],
    )
    return rows, section


def _batch_note(two: Batch) -> str:
    """Where the machine's time went while the 2-worker batch missed its target."""
    return (
        f"Workers {100 * two.cpu_share:.0f}%, other load {100 * two.outside_share:.0f}%, "
        f"idle {100 * two.idle_share:.0f}% of the cores: other load takes from the "
        "workers; idle cores mean workers waiting on the queue, the database or their "
        "reader thread; neither, and more threads than cores (frame loop, reader, OpenCV's "
        "pool) contend. See section 6."
    )
