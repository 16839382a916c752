"""What the numbers were measured on, and the one reader each for time, CPU, memory and
load that every figure uses (so no two figures measure the same thing differently).

A figure without its machine and versions cannot be compared with the next run, so the
report always starts with these.
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    kernel: str
    load_before: str


def _proc_line(path: str, prefix: str) -> str | None:
    """The rest of the first line of a /proc file that starts with `prefix`."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def load_average() -> str:
    """The 1/5/15-minute load: other work on the machine skews every figure."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> Machine:
    ram_kib = _proc_line("/proc/meminfo", "MemTotal:") or "0 kB"
    return Machine(
        cpu=(_proc_line("/proc/cpuinfo", "model name") or "unknown").lstrip(": \t"),
        cores=os.cpu_count() or 1,
        ram_gib=int(ram_kib.split()[0]) / 1024**2,
        kernel=platform.release(),
        load_before=load_average(),
    )


def versions() -> dict[str, str]:
    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {
        "Python": platform.python_version(),
        "OpenCV": cv2.__version__,
        "numpy": np.__version__,
        "FastAPI": dist("fastapi"),
        "SQLAlchemy": dist("sqlalchemy"),
        "uvicorn": dist("uvicorn"),
        "git commit": f"{commit}+dirty" if dirty else commit,
    }


class Stopwatch:
    """Wall time and this process's CPU time (all its threads) of a `with` block."""

    wall_s = cpu_s = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall_s = self.elapsed_s()
        self.cpu_s = time.process_time() - self._cpu

    def elapsed_s(self) -> float:
        """Wall time so far, inside the block."""
        return time.perf_counter() - self._wall

    @property
    def ms(self) -> float:
        return 1000 * self.wall_s


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat:
    what every process used, ours and anyone else's."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A VmRSS / VmHWM line of /proc/<pid>/status, in KiB."""
    value = _proc_line(f"/proc/{pid}/status", f"{field}:")
    if value is None:
        raise KeyError(field)
    return int(value.split()[0])


class Periodic:
    """Calls `tick()` every `interval` s on a thread of its own while a `with` block runs
    (a sampler or a probe must not wait for the work it watches)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def __enter__(self) -> Periodic:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class PeakRss(Periodic):
    """A process's peak resident memory over a `with` block: the larger of VmRSS sampled
    every `interval` s and VmHWM, which is first reset to the current RSS (write 5 to
    /proc/<pid>/clear_refs); the sampling alone still counts when the reset is refused."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(interval)
        self.pid = pid
        self.before_kib = self.peak_kib = 0

    def tick(self) -> None:
        self.peak_kib = max(self.peak_kib, rss_kib(self.pid))

    def __enter__(self) -> PeakRss:
        self.before_kib = self.peak_kib = rss_kib(self.pid)
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm = True
        except OSError:
            self._hwm = False
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._hwm:
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid, "VmHWM"))

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.before_kib) / 1024
