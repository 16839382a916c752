"""Figure 8: the API's read side under load: peak memory serving a 41 MB
results document four times at once, a filtered page over 330,000 frames, frame images
from their bounded pool, and /health's latency while all of that runs.

The API is started with run.py's uvicorn flags (as `make run` does); one worker makes a
completed job, whose stored results are then replaced by a generated document laid out
as the worker writes it (document, .jsonl and .idx).
"""

from __future__ import annotations

import json
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.settings import Settings
from app.testing.processes import ServiceError, Services
from benchkit import clips
from benchkit.machine import memory_kib, reset_peak_rss
from benchkit.report import Row, Section
from benchkit.service import RssSampler, percentile

ITEM = (
    '{{"frame_index":{i},"timestamp_ms":{t},"result":{{"detections":[{{"label":"motion",'
    '"bbox":[10,20,30,40],"confidence":0.75}}],"motion_ratio":0.0123}}}}'
)


@dataclass
class ApiLimits:
    document_bytes: int
    frames: int
    downloads: int
    download_s: list[float] = field(default_factory=list)
    first_byte_ms: list[float] = field(default_factory=list)
    rss_before_kib: int = 0
    rss_peak_kib: int = 0
    health_ms: list[float] = field(default_factory=list)
    filtered_ms: float = 0.0
    frame_ms: list[float] = field(default_factory=list)
    frame_codes: dict[int, int] = field(default_factory=dict)
    frame_health_ms: list[float] = field(default_factory=list)

    @property
    def growth_mib(self) -> float:
        return (self.rss_peak_kib - self.rss_before_kib) / 1024


def write_document(storage: Path, job_id: str, video: dict, frames: int) -> int:
    """Stored results of `frames` items, as the worker lays them out; the byte size."""
    offsets, position = bytearray(), 0
    lines_path = storage / f"{job_id}_results.jsonl"
    with open(lines_path, "wb") as lines:
        for i in range(frames):
            line = ITEM.format(i=i, t=i * 40).encode() + b"\n"
            offsets += struct.pack("<Q", position)
            position += len(line)
            lines.write(line)
    (storage / f"{job_id}_results.idx").write_bytes(bytes(offsets))
    head = {"job_id": job_id, "pipeline_id": "motion", "video": video, "warnings": []}
    document = storage / f"{job_id}_results.json"
    with open(document, "wb") as out, open(lines_path, "rb") as src:
        out.write(json.dumps(head).encode()[:-1] + b',"results":[')
        for index, line in enumerate(src):
            out.write((b"," if index else b"") + line.rstrip(b"\n"))
        out.write(b"]}")
    return document.stat().st_size


class HealthTimer:
    """/health latencies, polled every 100 ms on its own connection while work runs."""

    def __init__(self, base_url: str, into: list[float]) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=120)
        self.into = into
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            self.client.get("/health")
            self.into.append((time.perf_counter() - started) * 1000)
            self._stop.wait(0.1)

    def __enter__(self) -> HealthTimer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()


def _completed_job(services: Services, clip: Path, pipeline: str) -> str:
    services.start_workers(1)
    job_id = services.submit(clip, pipeline)
    (job,) = services.wait_finished([job_id], timeout=300)
    services.stop_workers()
    if job.status.value != "completed":
        raise ServiceError(f"job {job_id} ended {job.status.value}: {job.error_message}")
    return job_id


def measure_api_limits(work: Path, frames: int, downloads: int = 4) -> ApiLimits:
    tiny = clips.make_tiny_clip(work / "limits-tiny.mp4")
    hd = clips.make_scene_clip(work / "limits-hd.mp4", 120, 1280, 720)
    with Services(work / "api-limits") as services:
        services.start_api_as_make_run()
        base = str(services.client.base_url)
        job_id = _completed_job(services, tiny, "motion")
        video = services.client.get(f"/video/results/{job_id}").json()["video"]
        size = write_document(services.data_dir / "video_jobs", job_id, video, frames)
        result = ApiLimits(size, frames, downloads)
        assert services.api is not None
        pid = services.api.pid

        def download(_: int) -> None:
            with httpx.Client(base_url=base, timeout=300) as client:
                started = time.perf_counter()
                with client.stream("GET", f"/video/results/{job_id}") as response:
                    chunks = response.iter_bytes()
                    next(chunks)
                    result.first_byte_ms.append((time.perf_counter() - started) * 1000)
                    for _chunk in chunks:
                        pass
                result.download_s.append(time.perf_counter() - started)

        result.rss_before_kib = memory_kib(pid, "VmRSS")
        hwm = reset_peak_rss(pid)
        with (
            RssSampler(pid) as sampler,
            HealthTimer(base, result.health_ms),
            ThreadPoolExecutor(downloads) as pool,
        ):
            list(pool.map(download, range(downloads)))
        result.rss_peak_kib = max(sampler.peak_kib, memory_kib(pid, "VmHWM") if hwm else 0)
        started = time.perf_counter()
        services.client.get(f"/video/results/{job_id}", params={"label": "x", "limit": 1})
        result.filtered_ms = (time.perf_counter() - started) * 1000
        _measure_frames(services, _completed_job(services, hd, "quality"), result)
    return result


def _measure_frames(services: Services, job_id: str, result: ApiLimits) -> None:
    """40 frame requests at once, each near the end of a 120-frame 720p clip."""
    base = str(services.client.base_url)

    def one(n: int) -> tuple[int, float]:
        with httpx.Client(base_url=base, timeout=120) as client:
            started = time.perf_counter()
            response = client.get(f"/video/jobs/{job_id}/frames/{n}.jpg?width=1280")
            return response.status_code, (time.perf_counter() - started) * 1000

    with HealthTimer(base, result.frame_health_ms), ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(one, [100 + i % 19 for i in range(40)]))
    for code, ms in answers:
        result.frame_codes[code] = result.frame_codes.get(code, 0) + 1
        if code == 200:
            result.frame_ms.append(ms)


def describe_api_limits(limits: ApiLimits) -> tuple[list[Row], Section]:
    mb = limits.document_bytes / 1e6
    met = limits.growth_mib <= 64
    health_max = max(limits.health_ms + limits.frame_health_ms, default=0.0)
    rows = [
        Row(
            f"8. API peak memory serving a {mb:.0f} MB results document "
            f"({limits.downloads} at once)",
            f"+{limits.growth_mib:.1f} MiB",
            "RSS growth ≤ 64 MB",
            met,
        ),
        Row(
            "8. /health while results and frame images are served",
            f"max {health_max:.0f} ms",
            "< 2000 ms",
            health_max < 2000,
        ),
    ]
    defaults = Settings(_env_file=None)
    codes = ", ".join(f"{n} answered {code}" for code, n in sorted(limits.frame_codes.items()))
    frame_p50 = percentile(limits.frame_ms, 50) if limits.frame_ms else 0.0
    frame_max = max(limits.frame_ms, default=0.0)
    section = Section(
        "8. Resource limits: the API's reads",
        [
            f"A completed job's stored results replaced by a generated document of "
            f"{limits.frames:,} frames ({limits.document_bytes:,} bytes, laid out as the "
            f"worker writes it), then {limits.downloads} unpaged GET /video/results at once "
            "against the API started with run.py's uvicorn flags. API VmRSS "
            f"{limits.rss_before_kib / 1024:.1f} MiB before, peak "
            f"{limits.rss_peak_kib / 1024:.1f} MiB (**+{limits.growth_mib:.1f} MiB**; VmRSS "
            "sampled every 10 ms and VmHWM after a clear_refs reset). First byte after "
            f"{percentile(limits.first_byte_ms, 50):.0f} ms (median); each download took "
            f"{percentile(limits.download_s, 50):.1f} s (median). /health meanwhile: "
            f"median {percentile(limits.health_ms, 50):.0f} ms, max "
            f"{max(limits.health_ms, default=0):.0f} ms.",
            f"`?label=x&limit=1` on the same document (no frame matches): "
            f"{limits.filtered_ms:.0f} ms, examining 10,000 frames "
            "(VIDEO_JOBS_RESULTS_SCAN_FRAMES) and answering `next_offset`.",
            f"Frame images: 40 requests at once for frames 100-118 of a 120-frame 1280x720 "
            f"mp4v clip (default pool: {defaults.frame_workers} decoding, "
            f"{defaults.frame_queue} waiting): {codes}; the answered ones "
            f"took {frame_p50:.0f} ms (median), {frame_max:.0f} ms (max); the rest were "
            "refused at once with Retry-After. /health meanwhile: max "
            f"{max(limits.frame_health_ms, default=0):.0f} ms.",
        ],
    )
    return rows, section
