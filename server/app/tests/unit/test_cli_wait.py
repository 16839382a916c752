"""The CLI's `wait` (riding out API restarts), the checks a submit makes before it
uploads, what it says about a submit's warnings, and where its default URL comes from."""

from __future__ import annotations

import httpx
import pytest
from rich.console import Console

from app.cli.client import ApiClient, ApiUnreachable, default_url
from app.cli.main import build_parser, main
from app.cli.waiting import StatusPoller, wait_for
from app.tests.unit.test_cli import JOB_ID, STATUS, fake_api

pytestmark = pytest.mark.unit

RUNNING = {**STATUS, "status": "running", "error_message": None, "frames_done": 3}
DONE = {**STATUS, "status": "completed", "error_message": None, "frames_done": 6}
DONE.update(frames_total=6, warnings=["end_s=200 is past the end of the video (4.000 s)"])


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(answers: list[object]) -> httpx.Client:
    """Answers the status route from the script: a dict is a 200, an int that status
    with a detail, `ConnectionRefusedError` a refused connection (the API restarting)."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer is ConnectionRefusedError:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if isinstance(answer, int):
            return httpx.Response(answer, json={"detail": f"answer {answer}"})
        return httpx.Response(200, json=answer)

    return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://api.test")


def run_wait(answers: list[object], timeout: float | None = None, retry_for: float = 60):
    clock = FakeClock()
    client = ApiClient("http://api.test", http=scripted(answers))
    poller = StatusPoller(client, JOB_ID, retry_for, sleep=clock.sleep, clock=lambda: clock.now)
    console = Console(stderr=True, record=True, width=200)
    return wait_for(client, console, JOB_ID, timeout, poller), clock, console.export_text()


def test_wait_rides_out_a_restart_with_a_growing_pause():
    refused = ConnectionRefusedError
    answers = [RUNNING, refused, refused, 503, refused, 502, RUNNING, DONE]
    code, clock, text = run_wait(answers)
    assert code == 0 and "completed" in text
    assert clock.sleeps == [0.5, 0.5, 1.0, 2.0, 4.0, 5.0, 0.5]  # poll, backoff x5, poll
    assert "warning: end_s=200 is past the end" in text


def test_wait_gives_up_with_exit_3_after_retry_for_seconds_without_an_answer():
    with pytest.raises(ApiUnreachable, match=r"gave up after 10 s") as caught:
        run_wait([RUNNING, ConnectionRefusedError], retry_for=10)
    assert caught.value.exit_code == 3


def test_wait_does_not_retry_an_answer_that_will_not_change():
    assert main(["wait", JOB_ID], http=fake_api({})) == 1  # 404: no such job


def test_wait_stops_at_its_timeout_while_the_job_runs():
    with pytest.raises(Exception, match="still running after 2 s"):
        run_wait([RUNNING], timeout=2)


def test_wait_exits_1_for_a_failed_job(capsys):
    http = fake_api({f"/video/status/{JOB_ID}": (200, STATUS)})
    assert main(["wait", JOB_ID], http=http) == 1
    assert "the video could not be opened" in capsys.readouterr().err


def test_the_wait_options_are_shared_by_wait_and_submit():
    args = build_parser().parse_args(["wait", JOB_ID, "--timeout", "30", "--retry-for", "5"])
    assert (args.timeout, args.retry_for) == (30, 5)
    args = build_parser().parse_args(["submit", "x.mp4", "--wait", "--retry-for", "7"])
    assert (args.wait, args.retry_for, args.timeout) == (True, 7, None)


def test_an_unknown_pipeline_is_refused_before_the_upload(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    seen: list[httpx.Request] = []
    pipelines = [{"id": "motion", "description": "m"}, {"id": "faces", "description": "f"}]
    http = fake_api({"/video/pipelines": (200, pipelines)}, seen)
    assert main(["submit", str(clip), "--pipeline", "facse"], http=http) == 1
    assert [request.url.path for request in seen] == ["/video/pipelines"]
    err = capsys.readouterr().err
    assert "unknown pipeline 'facse'; valid ids are: motion, faces" in err
    assert "nothing was uploaded" in err


def test_submit_prints_the_warnings_of_its_answer(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    ignored = "the form field 'pipline_id' is not one a submit reads: ignored"
    accepted = {"job_id": JOB_ID, "status": "pending", "pipeline_id": "motion"}
    http = fake_api({"/video/submit": (200, {**accepted, "warnings": [ignored]})})
    assert main(["submit", str(clip)], http=http) == 0
    assert f"warning: {ignored}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"VIDEO_JOBS_API_PORT": "8001"}, "http://127.0.0.1:8001"),
        (
            {"VIDEO_JOBS_API_HOST": "0.0.0.0", "VIDEO_JOBS_API_PORT": "9000"},
            "http://127.0.0.1:9000",
        ),
        ({"VIDEO_JOBS_API_HOST": "::1"}, "http://[::1]:8000"),
        ({"VIDEO_JOBS_URL": "http://jobs:1", "VIDEO_JOBS_API_PORT": "8001"}, "http://jobs:1"),
    ],
)
def test_the_default_url_follows_the_api_host_and_port(environ, url):
    assert default_url(environ) == url


def test_the_parser_default_url_follows_the_api_port(monkeypatch):
    monkeypatch.delenv("VIDEO_JOBS_URL", raising=False)
    monkeypatch.delenv("VIDEO_JOBS_API_HOST", raising=False)
    monkeypatch.setenv("VIDEO_JOBS_API_PORT", "8123")
    assert build_parser().parse_args(["pipelines"]).url == "http://127.0.0.1:8123"


def test_submit_wait_prints_each_warning_once(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    clipped = DONE["warnings"][0]
    accepted = {"job_id": JOB_ID, "status": "pending", "pipeline_id": "motion"}
    routes = {
        "/video/submit": (200, {**accepted, "warnings": [clipped]}),
        f"/video/status/{JOB_ID}": (200, {**DONE, "warnings": [clipped, "the video is damaged"]}),
    }
    assert main(["submit", str(clip), "--wait"], http=fake_api(routes)) == 0
    err = capsys.readouterr().err
    assert err.count(clipped) == 1 and "warning: the video is damaged" in err
