"""Search across jobs against real processes: an API and a worker on SQLite, and on
PostgreSQL with a Redis queue (when VIDEO_JOBS_TEST_POSTGRES_URL and
VIDEO_JOBS_TEST_REDIS_URL are set). Two generated clips are analysed; the worker indexes
each as it completes, and the search finds them by label and by tag, a page at a time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.tests.fixtures.videos import make_moving_box_mp4, write_mp4
from app.tests.integration.conftest import postgres_schema_url
from app.tests.integration.test_tracks_exports import two_shot_frames

POSTGRES = os.environ.get("VIDEO_JOBS_TEST_POSTGRES_URL")
REDIS = os.environ.get("VIDEO_JOBS_TEST_REDIS_URL")

pytestmark = pytest.mark.worker


@contextmanager
def backend_settings(name: str) -> Iterator[dict[str, object]]:
    if name == "sqlite":
        yield {}
        return
    if not (POSTGRES and REDIS):
        pytest.skip("needs VIDEO_JOBS_TEST_POSTGRES_URL and VIDEO_JOBS_TEST_REDIS_URL")
    with postgres_schema_url(POSTGRES) as url:
        yield {"database_url": url, "queue_url": REDIS, "queue_name": f"vj-{uuid.uuid4().hex[:8]}"}


def submit(services, clip: Path, pipeline: str, tag: str) -> str:
    with open(clip, "rb") as handle:
        response = services.client.post(
            "/video/submit",
            files={"file": (clip.name, handle, "video/mp4")},
            data={"pipeline_id": pipeline, "tag": tag},
        )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def search(services, **params) -> dict:
    response = services.client.get("/video/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_completed_jobs_are_found_by_label_and_tag_and_paged(
    services_factory, tmp_path: Path, backend: str
):
    faces = write_mp4(tmp_path / "astronaut walk.mp4", two_shot_frames(), 25.0)
    box = make_moving_box_mp4(tmp_path / "box.mp4", count=10)
    with backend_settings(backend) as settings:
        services = services_factory(**settings)
        services.start_api()
        services.start_worker()
        tag = f"yard-{uuid.uuid4().hex[:6]}"
        first = submit(services, faces, "faces", tag)
        assert services.wait_for(first, timeout=120)["status"] == "completed"
        second = submit(services, box, "quality", tag)
        assert services.wait_for(second, timeout=120)["status"] == "completed"

        summary = services.client.get(f"/video/jobs/{first}/summary").json()
        tracks = [t for t in summary["tracks"] if t["label"] == "face"]
        assert tracks, summary
        found = search(services, label="face")
        assert found["total"] == 1
        (item,) = found["items"]
        assert (item["job_id"], item["filename"], item["tag"]) == (first, "astronaut walk.mp4", tag)
        assert item["matches"] == [
            {"kind": "label", "value": "face", "start_ms": t["start_ms"],
             "end_ms": t["end_ms"], "track_id": t["track_id"]}
            for t in sorted(tracks, key=lambda t: t["start_ms"])
        ][:50]  # fmt: skip

        both = search(services, tag=tag)
        assert both["total"] == 2
        assert [i["job_id"] for i in both["items"]] == [second, first]  # newest first
        assert all(i["matches"] == [] for i in both["items"])
        page = search(services, tag=tag, limit=1, offset=1)
        assert page["total"] == 2 and [i["job_id"] for i in page["items"]] == [first]
        assert search(services, tag=tag, label="face", min_individuals=1)["total"] == 1
        assert search(services, text="anything")["total"] == 0  # no text pipeline ran

        deleted = services.client.delete(f"/video/jobs/{first}", params={"purge": "true"})
        assert deleted.status_code == 204
        assert search(services, label="face")["total"] == 0
        assert search(services, tag=tag)["total"] == 1
        assert services.stop_api_cleanly()
