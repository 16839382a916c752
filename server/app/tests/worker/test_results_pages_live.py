"""Paged results of a big document against a real API process: pages are copied from
the `.jsonl`'s byte range, bounded in bytes as well as in items, so eight large pages
at once leave the API's memory flat."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.testing.processes import Services
from app.tests.worker.limits_support import (
    HealthProbe,
    PeakSampler,
    write_big_results,
)

pytestmark = pytest.mark.worker
FRAMES = 12_000  # 60 boxes a frame: ~42 MB, ~35 MB in 10,000 items
PAGE_BYTES = 4 << 20


def big_job(services_factory, clip: Path) -> tuple[Services, str, dict]:
    """A completed job whose stored results are replaced by the big document (the API
    started with make run's flags); (services, job id, the results' video)."""
    services = services_factory(results_page_bytes=PAGE_BYTES)
    services.start_api_as_make_run()
    job_id = services.submit(clip, "motion")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"
    video = services.results(job_id)["video"]
    size = write_big_results(services.data_dir / "video_jobs", job_id, video, FRAMES, 60)
    assert size > 40_000_000  # the ~41 MB document
    return services, job_id, video


def test_eight_pages_of_10000_items_leave_api_memory_flat(services_factory, clip_path):
    services, job_id, video = big_job(services_factory, clip_path)

    def page(offset: int) -> bytes:
        with (
            httpx.Client(base_url=str(services.client.base_url), timeout=120) as client,
            client.stream(
                "GET", f"/video/results/{job_id}", params={"offset": offset, "limit": 10_000}
            ) as response,
        ):
            assert response.status_code == 200
            return b"".join(response.iter_bytes())

    offsets = [i * 250 for i in range(8)]
    with (
        PeakSampler(services.api.pid) as memory,
        HealthProbe(services) as probe,
        ThreadPoolExecutor(8) as pool,
    ):
        bodies = list(pool.map(page, offsets))
    assert memory.growth_mb < 64, f"API RSS grew {memory.growth_mb:.0f} MB"
    assert probe.codes and set(probe.codes) == {200}
    for offset, body in zip(offsets, bodies, strict=True):
        assert len(body) <= PAGE_BYTES + 4096  # the items, plus a small head
        document = json.loads(body)
        frames = [item["frame_index"] for item in document["results"]]
        assert frames == list(range(offset, offset + len(frames))) and frames
        assert len(frames) < 10_000  # the byte bound cut the page short
        assert document["next_offset"] == offset + len(frames)
        assert document["video"] == video and document["offset"] == offset
        assert len(document["results"][0]["result"]["detections"]) == 60


def test_pages_walk_the_whole_big_document(services_factory, clip_path):
    """Following next_offset from 0 yields every frame once, in order."""
    services, job_id, _video = big_job(services_factory, clip_path)
    seen, offset, pages = 0, 0, 0
    while offset is not None:
        response = services.client.get(
            f"/video/results/{job_id}",
            params={"offset": offset, "limit": 10_000},
            headers={"Accept-Encoding": "identity"},  # to compare Content-Length
        )
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        document = response.json()
        frames = [item["frame_index"] for item in document["results"]]
        assert frames == list(range(seen, seen + len(frames)))
        seen += len(frames)
        offset = document["next_offset"]
        pages += 1
    assert seen == FRAMES and pages >= 10  # ~42 MB in pages of at most 4 MiB
