"""Figures 2-5 and 7: the service's own overheads, measured on real processes.

Times on both sides come from the same machine clock: the client takes `time.time()`
around each request, and the job row holds the server's UTC timestamps (`created_at`
when the submit built the job, `heartbeat_at` = claim time, since the pending -> running
transition sets it and the first heartbeat only comes after 0.5 s, long after a tiny
job has finished; `updated_at` of a completed job = completion time).
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.testing.mp4_synth import box, ftyp, mvhd, video_trak
from app.testing.processes import ServiceError, Services
from benchkit.backends import Backend
from benchkit.machine import memory_kib, reset_peak_rss
from benchkit.report import Row, Section, table

TINY_PIPELINE = "motion"  # the default pipeline; on a 1-frame clip it costs ~nothing
# ftyp + moov of a 1-frame 64x48 video: the submit reads this header (and nothing else)
# before it accepts a file, so the rest can be any bytes inside one mdat box.
MP4_HEAD = ftyp() + box("moov", mvhd(), video_trak(64, 48, frames=1))
MDAT_HEADER = 16  # a 64-bit mdat size


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class JobTimes:
    """One job's life in wall-clock seconds."""

    sent: float  # client: just before POST /video/submit
    answered: float  # client: the 200 arrived
    created: float  # server: the submit built the job row (after the upload was stored)
    claimed: float  # worker: pending -> running
    finished: float  # worker: running -> completed

    @property
    def hop_ms(self) -> float:
        """Queue hop: row created and id enqueued -> a worker claims it."""
        return 1000 * (self.claimed - self.created)

    @property
    def after_answer_ms(self) -> float:
        """The claim relative to the client seeing the 200 (negative: claimed before)."""
        return 1000 * (self.claimed - self.answered)

    @property
    def end_to_end_ms(self) -> float:
        return 1000 * (self.finished - self.sent)


def sequential_jobs(services: Services, clip: Path, count: int) -> list[JobTimes]:
    """Submit `count` tiny jobs one after another, each once the previous one finished,
    so every hop is measured on an idle queue (no job waits behind another)."""
    samples = []
    for _ in range(count):
        sent = time.time()
        job_id = services.submit(clip, TINY_PIPELINE)
        answered = time.time()
        (job,) = services.wait_finished([job_id], timeout=60)
        if job.status.value != "completed" or job.heartbeat_at is None:
            raise ServiceError(f"job {job_id} ended {job.status.value}: {job.error_message}")
        samples.append(
            JobTimes(
                sent=sent,
                answered=answered,
                created=job.created_at.timestamp(),
                claimed=job.heartbeat_at.timestamp(),
                finished=job.updated_at.timestamp(),
            )
        )
    return samples


def job_throughput(services: Services, clip: Path, count: int, clients: int = 4) -> float:
    """Jobs per second for `count` tiny jobs submitted at once by `clients` threads:
    first submit sent -> last job completed."""
    started = time.time()
    with ThreadPoolExecutor(clients) as pool:
        job_ids = list(pool.map(lambda _: services.submit(clip, TINY_PIPELINE), range(count)))
    jobs = services.wait_finished(job_ids, timeout=120, poll_s=0.02)
    failed = [j for j in jobs if j.status.value != "completed"]
    if failed:
        raise ServiceError(f"{len(failed)} job(s) failed, first: {failed[0].error_message}")
    return count / (max(j.updated_at.timestamp() for j in jobs) - started)


# -- figure 4: a large upload --------------------------------------------------------
@dataclass(frozen=True)
class UploadResult:
    size: int
    seconds: float
    rss_before_kib: int
    rss_peak_kib: int

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / 1e6

    @property
    def growth_mib(self) -> float:
        return (self.rss_peak_kib - self.rss_before_kib) / 1024


def multipart_body(size: int, boundary: str) -> tuple[Iterator[bytes], int]:
    """A multipart/form-data body with a `size`-byte file part whose header is a valid
    MP4's (so the submit is accepted), produced chunk by chunk, never held whole."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="pipeline_id"\r\n\r\n'
        f"{TINY_PIPELINE}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="large.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = os.urandom(1 << 20)

    def chunks() -> Iterator[bytes]:
        remaining = size - len(MP4_HEAD) - MDAT_HEADER
        mdat = b"\x00\x00\x00\x01mdat" + (MDAT_HEADER + remaining).to_bytes(8, "big")
        yield head + MP4_HEAD + mdat
        while remaining > 0:
            piece = block[: min(remaining, len(block))]
            remaining -= len(piece)
            yield piece
        yield tail

    return chunks(), len(head) + size + len(tail)


class RssSampler:
    """Samples a process's VmRSS every few milliseconds; the peak survives a VmHWM that
    cannot be reset (clear_refs refused)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = memory_kib(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid, "VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def large_upload(services: Services, size: int) -> UploadResult:
    """Stream one `size`-byte upload, measure MB/s and the API's peak RSS growth, then
    delete the job (cancel it, then delete its files) so the disk is given back."""
    assert services.api is not None
    pid = services.api.pid
    boundary = uuid.uuid4().hex
    body, length = multipart_body(size, boundary)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    before = memory_kib(pid, "VmRSS")
    hwm_reset = reset_peak_rss(pid)
    with RssSampler(pid) as sampler:
        started = time.perf_counter()
        response = services.client.post("/video/submit", content=body, headers=headers)
        seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise ServiceError(f"large upload answered {response.status_code}: {response.text}")
    peak = max(sampler.peak_kib, memory_kib(pid, "VmHWM") if hwm_reset else 0)
    delete_job(services, response.json()["job_id"])
    return UploadResult(size, seconds, before, peak)


def delete_job(services: Services, job_id: str) -> None:
    """DELETE twice: the first cancels the pending job, the second (purge) deletes its
    files."""
    for params in ({}, {"purge": "true"}):
        response = services.client.delete(f"/video/jobs/{job_id}", params=params)
        if response.status_code not in (200, 204):
            raise ServiceError(f"DELETE answered {response.status_code}: {response.text}")
    stored = services.data_dir / "video_jobs" / f"{job_id}.mp4"
    if stored.exists():
        raise ServiceError(f"{stored} is still there after DELETE")


# -- figure 5: concurrent submits ------------------------------------------------------
@dataclass(frozen=True)
class SubmitLoad:
    requests: int
    clients: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def submit_load(services: Services, clip: Path, requests: int, clients: int) -> SubmitLoad:
    """`requests` submits of a small clip from `clients` threads, each with its own
    connection (httpx.Client), as independent callers would be."""
    local = threading.local()
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def one(_: int) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=str(services.client.base_url))
            with lock:
                opened.append(client)
        started = time.perf_counter()
        services.submit(clip, TINY_PIPELINE, client=client)
        return 1000 * (time.perf_counter() - started)

    try:
        with ThreadPoolExecutor(clients) as pool:
            started = time.perf_counter()
            latencies = list(pool.map(one, range(requests)))
            seconds = time.perf_counter() - started
    finally:
        for client in opened:
            client.close()
    return SubmitLoad(requests, clients, seconds, latencies)


# -- figures 2, 3 and 7: one setup, hops then throughput -------------------------------
@dataclass
class SetupResult:
    backend: Backend
    hops: list[JobTimes] = field(default_factory=list)
    jobs_per_s: float | None = None

    def hop(self, q: float) -> float:
        return percentile([t.hop_ms for t in self.hops], q)

    def after_answer(self, q: float) -> float:
        return percentile([t.after_answer_ms for t in self.hops], q)

    def end_to_end(self, q: float) -> float:
        return percentile([t.end_to_end_ms for t in self.hops], q)

    def request(self, q: float) -> float:
        return percentile([1000 * (t.answered - t.sent) for t in self.hops], q)

    def run(self, q: float) -> float:
        return percentile([1000 * (t.finished - t.claimed) for t in self.hops], q)


def measure_setup(
    root: Path, backend: Backend, clip: Path, hop_jobs: int, throughput_jobs: int
) -> SetupResult:
    """API + 1 worker: `hop_jobs` sequential tiny jobs; then a second worker joins and
    `throughput_jobs` tiny jobs go in at once. A few warm-up jobs run first each time
    (a fresh worker imports and builds lazily on its first job)."""
    result = SetupResult(backend)
    if backend.skipped:
        return result
    with Services(root, **backend.settings) as services:
        services.start_api()
        services.start_workers(1)
        sequential_jobs(services, clip, 3)
        result.hops = sequential_jobs(services, clip, hop_jobs)
        services.start_workers(1)
        job_throughput(services, clip, 4)
        result.jobs_per_s = job_throughput(services, clip, throughput_jobs)
    return result


def describe_setups(
    embedded: SetupResult, others: list[SetupResult], throughput_jobs: int
) -> tuple[list[Row], Section]:
    hop_p50, e2e_p50 = embedded.hop(50), embedded.end_to_end(50)
    rows = [
        Row(
            f"2. Queue hop, submit → claim ({len(embedded.hops)} jobs, 1 worker)",
            f"p50 {hop_p50:.1f} ms, p99 {embedded.hop(99):.1f} ms",
            "p50 ≤ 5 ms",
            hop_p50 <= 5.0,
            "" if hop_p50 <= 5.0 else _hop_note(embedded),
        ),
        Row(
            "3. End-to-end, submit → completed (1-frame clip)",
            f"p50 {e2e_p50:.1f} ms (p99 {embedded.end_to_end(99):.1f} ms)",
            "p50 ≤ 50 ms",
            e2e_p50 <= 50.0,
            "" if e2e_p50 <= 50.0 else _end_to_end_note(embedded),
        ),
    ]
    for setup in [embedded, *others]:
        if setup.backend.skipped:
            rows.append(
                Row(f"7. {setup.backend.name}", "skipped", "—", None, setup.backend.skipped)
            )
            continue
        rows.append(
            Row(
                f"7. {setup.backend.name}: hop; throughput (2 workers)",
                f"hop p50 {setup.hop(50):.1f} ms, p99 {setup.hop(99):.1f} ms; "
                f"{setup.jobs_per_s:.1f} jobs/s",
                "reported (compare the setups)",
                None,
            )
        )
    header = [
        "setup",
        "hop p50",
        "hop p99",
        "claim - 200 p50",
        "submit request p50",
        "run + record p50",
        "end-to-end p50",
        "end-to-end p99",
        f"jobs/s ({throughput_jobs} jobs, 2 workers)",
    ]
    cells = [
        [
            s.backend.name,
            *(
                f"{value:.1f} ms"
                for value in (
                    s.hop(50),
                    s.hop(99),
                    s.after_answer(50),
                    s.request(50),
                    s.run(50),
                    s.end_to_end(50),
                    s.end_to_end(99),
                )
            ),
            f"{s.jobs_per_s:.1f}",
        ]
        for s in [embedded, *others]
        if not s.backend.skipped
    ]
    section = Section(
        "2, 3 and 7. Queue hop, end-to-end, and Redis + PostgreSQL",
        [
            "Real processes as `make run` starts them: the API under uvicorn (which hosts the "
            "Manager queue in the embedded setup) and one worker, on free ports with a "
            "temporary DATA_DIR. The clip is 1 frame of 64x48 (`motion`, the default "
            "pipeline), so what is measured is the service, not the analysis. Jobs are "
            "submitted one at a time, each after the previous one finished, so no job waits "
            "behind another; a few warm-up jobs run first.",
            "",
            "- *hop*: the job row's `heartbeat_at` (set to the claim time by the pending → "
            "running transition, which the worker stamps when it takes the id off the queue) "
            "minus its `created_at` (stamped by the submit after the upload was stored, just "
            "before the row is inserted and the id enqueued). It covers the insert's commit, "
            "the enqueue, the worker's wake-up and the claim.",
            "- *claim - 200*: the claim relative to the client seeing the 200 (negative: the "
            "worker had claimed the job before the answer reached the client).",
            "- *end-to-end*: the completed row's `updated_at` minus the client's clock just "
            "before it sent the submit; split into the submit request itself and the worker's "
            "*run + record* (claim → completed: decode, analyse, write the results, commit).",
            "- *jobs/s*: a second worker joins; "
            f"{throughput_jobs} jobs are submitted at once by 4 client threads; first submit "
            "sent → last job completed.",
            "- Redis + PostgreSQL: the same on `VIDEO_JOBS_QUEUE_URL=redis://127.0.0.1:6379/0` "
            "with a queue name of its own and `VIDEO_JOBS_DATABASE_URL` on a throwaway "
            "PostgreSQL database (`bench_<hex>`, dropped afterwards).",
            "",
            *table(header, cells),
        ],
    )
    return rows, section


def _hop_note(setup: SetupResult) -> str:
    return (
        f"The hop includes the commit of the job's insert and the claim's UPDATE; "
        f"claim - 200 is {setup.after_answer(50):.1f} ms at p50. See section 2."
    )


def _end_to_end_note(setup: SetupResult) -> str:
    return (
        f"Submit request p50 {setup.request(50):.1f} ms, run + record p50 "
        f"{setup.run(50):.1f} ms. See section 3."
    )


def describe_upload(upload: UploadResult) -> tuple[list[Row], Section]:
    met = upload.growth_mib <= 64
    row = Row(
        f"4. Upload of {upload.size / 2**30:.3g} GiB",
        f"{upload.mb_per_s:.0f} MB/s; API peak RSS +{upload.growth_mib:.1f} MiB",
        "RSS growth ≤ 64 MB",
        met,
        "" if met else "The API holds part of the upload in memory; see section 4.",
    )
    section = Section(
        "4. Large upload",
        [
            f"One POST /video/submit of {upload.size} bytes ({upload.size / 2**30:.3g} GiB): "
            "httpx streams a generated multipart body (first box `ftyp`, then 1 MiB blocks) "
            "with its Content-Length, to the API alone (no worker, so nothing else runs). "
            f"{upload.seconds:.1f} s from the first byte sent to the 200, "
            f"**{upload.mb_per_s:.0f} MB/s** (10^6 bytes), including the API parsing the "
            "body as it arrives and writing the part once, with its SHA-256, straight into "
            "DATA_DIR, reading the MP4 header, and the insert.",
            f"API memory: VmRSS {upload.rss_before_kib / 1024:.1f} MiB before; the peak "
            "during the upload is the larger of VmRSS sampled every 10 ms and VmHWM (reset "
            f"to the current RSS first via /proc/<pid>/clear_refs): "
            f"{upload.rss_peak_kib / 1024:.1f} MiB, **+{upload.growth_mib:.1f} MiB**. "
            "The job is then canceled and its file deleted through DELETE /video/jobs/{id}.",
        ],
    )
    return [row], section


def describe_submits(load: SubmitLoad) -> tuple[list[Row], Section]:
    p50, p99 = percentile(load.latencies_ms, 50), percentile(load.latencies_ms, 99)
    row = Row(
        f"5. Submit load ({load.requests} submits, {load.clients} clients)",
        f"{load.per_second:.0f} req/s; p50 {p50:.0f} ms, p99 {p99:.0f} ms",
        "reported",
        None,
    )
    section = Section(
        "5. Submit load",
        [
            f"{load.requests} submits of the 1-frame clip from {load.clients} threads, each "
            "with its own httpx.Client (keep-alive connection), to the API alone (no "
            f"worker): {load.seconds:.2f} s in all, **{load.per_second:.0f} requests/s**; "
            f"latency per request p50 {p50:.1f} ms, p99 {p99:.1f} ms, max "
            f"{max(load.latencies_ms):.1f} ms. Each submit parses a multipart body, writes "
            "and hashes the file, inserts the row (one SQLite writer at a time) and enqueues "
            "the id; the sync route runs in uvicorn's thread pool, in one process.",
        ],
    )
    return [row], section
