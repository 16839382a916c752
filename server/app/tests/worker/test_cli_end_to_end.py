"""The installed `video-jobs` command against a real API and worker (OS processes)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.testing.mp4_synth import undecodable_mp4

pytestmark = pytest.mark.worker

SCRIPT = Path(sys.executable).parent / "video-jobs"


def video_jobs(services, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the console script if installed, else `python -m app.cli` (the same main)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
    url = f"http://127.0.0.1:{services.api_port}"
    return subprocess.run(
        [*command, "--url", url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=services.env,
        cwd=services.root,
    )


def test_submit_wait_completes_and_the_other_commands_show_the_job(
    services_factory, clip_path: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()

    submitted = video_jobs(services, "submit", str(clip_path), "--pipeline", "motion", "--wait")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert uuid.UUID(job_id).version == 4
    assert f"job {job_id} completed" in submitted.stderr

    status = video_jobs(services, "status", job_id)
    assert json.loads(status.stdout)["status"] == "completed"
    target = tmp_path / "results.json"
    assert video_jobs(services, "results", job_id, "-o", str(target)).returncode == 0
    assert json.loads(target.read_text())["video"]["frame_count"] == 30
    listing = video_jobs(services, "jobs", "--status", "completed")
    assert listing.stdout.splitlines()[1].split()[:2] == [job_id, "completed"]
    pipelines = video_jobs(services, "pipelines").stdout
    assert any(line.split()[0] == "motion" for line in pipelines.splitlines())


def test_a_corrupt_video_makes_submit_wait_exit_1_with_the_reason(services_factory, tmp_path: Path):
    services = services_factory()
    services.start_api()
    services.start_worker()
    broken = undecodable_mp4(tmp_path / "broken.mp4")  # passes the submit's header check
    result = video_jobs(services, "submit", str(broken), "--wait")
    assert result.returncode == 1
    assert "failed" in result.stderr and "corrupt" in result.stderr


def test_the_api_key_is_taken_from_the_environment(services_factory):
    services = services_factory(api_key="s3cret")
    services.start_api()
    accepted = video_jobs(services, "jobs")
    assert accepted.returncode == 0, accepted.stderr  # the CLI read VIDEO_JOBS_API_KEY
    services.env.pop("VIDEO_JOBS_API_KEY")
    refused = video_jobs(services, "jobs")
    assert refused.returncode == 1 and "X-API-Key" in refused.stderr


def test_options_summary_and_exports_with_the_url_after_the_command(
    services_factory, clip_path: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    url = f"http://127.0.0.1:{services.api_port}"
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
    options = ["--sample-fps", "10", "--annotate", "--tag", "porch cam", "--wait"]
    submitted = subprocess.run(
        [*command, "submit", str(clip_path), "--pipeline", "motion", *options, "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=services.env,
        cwd=services.root,
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert re.search(r"\d+/\d+ frames, [\d.]+ fps", submitted.stderr)  # what --wait shows
    status = services.status(job_id)
    assert status["options"]["sample_fps"] == 10.0 and status["options"]["annotate"] is True
    assert (status["tag"], status["filename"]) == ("porch cam", clip_path.name)

    listing = video_jobs(services, "jobs", "--tag", "porch cam")
    assert listing.returncode == 0 and listing.stdout.splitlines()[1].startswith(job_id)
    summary = video_jobs(services, "summary", job_id)
    assert summary.returncode == 0, summary.stderr
    lines = summary.stdout.splitlines()
    assert lines[0] == "SHOTS (1)" and lines[2].split()[:3] == ["0", "0:00.000", "0:01.120"]

    exported = {}
    for kind in ("csv", "vtt", "mp4"):
        target = tmp_path / f"out.{kind}"
        result = video_jobs(services, "export", job_id, "--format", kind, "-o", str(target))
        assert result.returncode == 0, result.stderr
        exported[kind] = target.read_bytes()
    assert exported["csv"].startswith(b"frame_index,timestamp_ms,label,track_id,x,y,w,h")
    assert exported["vtt"].startswith(b"WEBVTT")
    assert exported["mp4"][4:8] == b"ftyp"
    results = services.client.get(f"/video/results/{job_id}", headers={"Accept-Encoding": "gzip"})
    assert results.headers.get("content-encoding") == "gzip"
    assert len(results.json()["results"]) == 12

    missing = video_jobs(services, "summary", str(uuid.uuid4()))
    assert missing.returncode == 1 and "not available" in missing.stderr
