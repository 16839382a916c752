"""DELETE against a real API and worker: a cancel that arrives after the job finished
keeps everything (409); deleting a finished job's files takes `?purge=true`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.testing.mp4_synth import undecodable_mp4

pytestmark = pytest.mark.worker


def job_files(services, job_id: str) -> list[str]:
    return sorted(p.name for p in (services.data_dir / "video_jobs").glob(f"{job_id}*"))


def test_a_late_cancel_keeps_a_completed_job_and_purge_deletes_it(services_factory, clip_path):
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip_path, "motion")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"
    files = job_files(services, job_id)
    assert f"{job_id}_results.json" in files

    late = services.client.delete(f"/video/jobs/{job_id}")  # the page's cancel, a second late
    assert late.status_code == 409, late.text
    assert "already completed" in late.json()["detail"]
    assert job_files(services, job_id) == files
    assert services.client.get(f"/video/results/{job_id}").status_code == 200
    assert services.status(job_id)["files_deleted_at"] is None

    purged = services.client.delete(f"/video/jobs/{job_id}", params={"purge": "true"})
    assert purged.status_code == 204
    assert job_files(services, job_id) == []
    gone = services.client.get(f"/video/results/{job_id}")
    assert gone.status_code == 410 and "deleted" in gone.json()["detail"]
    again = services.client.delete(f"/video/jobs/{job_id}", params={"purge": "true"})
    assert again.status_code == 204


def test_a_late_cancel_keeps_a_failed_job(services_factory, tmp_path: Path):
    services = services_factory()
    services.start_api()
    job_id = services.submit(undecodable_mp4(tmp_path / "garbage.mp4"), "motion")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "failed"
    files = job_files(services, job_id)
    assert files == [f"{job_id}.mp4"]  # its input, kept for a look at what went wrong
    late = services.client.delete(f"/video/jobs/{job_id}")
    assert late.status_code == 409 and "already failed" in late.json()["detail"]
    assert job_files(services, job_id) == files
    purged = services.client.delete(f"/video/jobs/{job_id}", params={"purge": "true"})
    assert purged.status_code == 204 and job_files(services, job_id) == []
