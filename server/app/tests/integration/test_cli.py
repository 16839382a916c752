"""The CLI against the real app (TestClient as its HTTP client) and an in-process worker:
every command prints what the API holds; refusals print the API's detail."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.cli.main import main
from app.settings import Settings
from app.testing.mp4_synth import undecodable_mp4
from app.testing.processes import free_port
from app.tests.helpers import app_state
from app.workers.worker import Worker

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def cli(client: TestClient, *args: str) -> int:
    return main(["--url", "http://testserver", *args], http=client)


def worker_of(client: TestClient) -> Worker:
    state = app_state(client)
    return Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)


def submit(client: TestClient, capsys, *args: str) -> str:
    assert cli(client, "submit", *args) == 0
    out, err = capsys.readouterr()
    assert f"job {out.strip()} pending" in err
    return str(uuid.UUID(out.strip()))


def test_submit_then_status_results_and_jobs_show_the_job(client, clip_path, capsys):
    job_id = submit(client, capsys, str(clip_path), "--pipeline", "quality")
    assert worker_of(client).run_once(wait=10)

    assert cli(client, "status", job_id) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == client.get(f"/video/status/{job_id}").json()
    assert status["status"] == "completed" and status["pipeline_id"] == "quality"

    assert cli(client, "results", job_id) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["video"]["frame_count"] == 30
    assert set(document["results"][0]["result"]) >= {"brightness", "contrast", "sharpness"}

    assert cli(client, "jobs") == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[:3] for row in rows] == [[job_id, "completed", "quality"]]
    assert cli(client, "jobs", "--status", "pending") == 0
    assert capsys.readouterr().out == ""


def test_submit_wait_follows_the_job_to_completed_and_exits_0(client, clip_path, capsys):
    worker = threading.Thread(target=worker_of(client).run_once, args=(20,))
    worker.start()
    try:
        assert cli(client, "submit", str(clip_path), "--wait") == 0
    finally:
        worker.join(timeout=30)
    out, err = capsys.readouterr()
    job_id = out.strip()
    assert f"job {job_id} completed" in err
    assert client.get(f"/video/status/{job_id}").json()["status"] == "completed"


def test_submit_wait_of_an_undecodable_mp4_exits_1_with_the_error(client, tmp_path, capsys):
    broken = undecodable_mp4(tmp_path / "broken.mp4")  # passes the submit's header check
    worker = threading.Thread(target=worker_of(client).run_once, args=(20,))
    worker.start()
    try:
        assert cli(client, "submit", str(broken), "--wait") == 1
    finally:
        worker.join(timeout=30)
    err = capsys.readouterr().err
    assert "failed" in err and "corrupt" in err


def test_a_file_that_is_not_an_mp4_is_refused_before_it_is_uploaded(client, tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    assert cli(client, "submit", str(text)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "not an MP4" in err and "nothing was uploaded" in err
    assert client.get("/video/jobs").json()["jobs"] == []


def test_submit_options_and_tag_reach_the_job_and_jobs_finds_it_by_tag(client, clip_path, capsys):
    args = ["--pipeline", "people", "--sample-fps", "5", "--labels", "person", "--tag", "porch"]
    job_id = submit(client, capsys, str(clip_path), *args, "--url", "http://testserver")
    status = client.get(f"/video/status/{job_id}").json()
    assert status["options"]["sample_fps"] == 5.0 and status["options"]["labels"] == ["person"]
    assert (status["tag"], status["filename"]) == ("porch", clip_path.name)
    assert cli(client, "jobs", "--tag", "porch") == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith(job_id) and clip_path.name in rows[0]
    assert cli(client, "submit", str(clip_path), "--pipeline", "people", "--labels", "cat") == 1
    assert "it can emit: person" in capsys.readouterr().err


def test_an_unknown_pipeline_lists_the_valid_ones(client, clip_path, capsys):
    assert cli(client, "submit", str(clip_path), "--pipeline", "nope") == 1
    assert "valid ids are: " in capsys.readouterr().err


def test_pipelines_lists_every_pipeline_of_the_api(client, capsys):
    assert cli(client, "pipelines") == 0
    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert printed == [p["id"] for p in client.get("/video/pipelines").json()]


def test_results_of_an_unfinished_job_print_the_detail(client, clip_path, capsys):
    job_id = submit(client, capsys, str(clip_path))
    assert cli(client, "results", job_id) == 1
    assert f"job {job_id} is pending" in capsys.readouterr().err


def test_with_an_api_key_set_the_cli_needs_it(settings: Settings, clip_path, capsys, monkeypatch):
    settings.api_key = "s3cret"
    with TestClient(create_app(settings)) as client:
        assert cli(client, "jobs") == 1
        assert "X-API-Key" in capsys.readouterr().err
        assert cli(client, "--api-key", "s3cret", "jobs") == 0
        monkeypatch.setenv("VIDEO_JOBS_API_KEY", "s3cret")
        assert cli(client, "pipelines") == 0


def test_an_unreachable_api_is_named_with_its_url(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--url", url, "status", str(uuid.uuid4())]) == 3
    err = capsys.readouterr().err
    assert f"not reachable at {url}" in err


def test_results_can_be_written_to_a_file(client, clip_path, capsys, tmp_path: Path):
    job_id = submit(client, capsys, str(clip_path))
    assert worker_of(client).run_once(wait=10)
    target = tmp_path / "results.json"
    assert cli(client, "results", job_id, "-o", str(target)) == 0
    assert json.loads(target.read_text()) == client.get(f"/video/results/{job_id}").json()
