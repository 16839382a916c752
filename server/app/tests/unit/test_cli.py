"""The CLI against a scripted API (httpx.MockTransport): what it prints, where, and its
exit codes. The real API is exercised in integration/test_cli.py and worker/."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from app.cli.client import ProgressFile, describe_detail
from app.cli.main import build_parser, main

pytestmark = pytest.mark.unit

JOB_ID = "cf551998-3de8-4b61-a905-fb9ee68678b6"
STATUS = {
    "job_id": JOB_ID,
    "status": "failed",
    "progress": 1.0,
    "created_at": "2026-11-24T06:21:10.792117+00:00",
    "updated_at": "2026-11-24T06:21:11.000000+00:00",
    "pipeline_id": "motion",
    "error_message": "the video could not be opened",
}


def fake_api(routes: dict[str, tuple[int, object]], seen: list[httpx.Request] | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        code, body = routes.get(request.url.path, (404, {"detail": "Not Found"}))
        return httpx.Response(code, json=body)

    return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://api.test")


def test_url_and_key_come_from_the_environment_unless_given(monkeypatch):
    monkeypatch.setenv("VIDEO_JOBS_URL", "http://jobs.example:9000")
    monkeypatch.setenv("VIDEO_JOBS_API_KEY", "from-env")
    args = build_parser().parse_args(["pipelines"])
    assert (args.url, args.api_key) == ("http://jobs.example:9000", "from-env")
    args = build_parser().parse_args(["--url", "http://other", "--api-key", "k", "pipelines"])
    assert (args.url, args.api_key) == ("http://other", "k")
    monkeypatch.delenv("VIDEO_JOBS_URL")
    assert build_parser().parse_args(["pipelines"]).url == "http://127.0.0.1:8000"


def test_the_api_key_is_sent_as_the_header(capsys):
    seen: list[httpx.Request] = []
    http = fake_api({"/video/pipelines": (200, [])}, seen)
    assert main(["--api-key", "s3cret", "pipelines"], http=http) == 0
    assert seen[0].headers["X-API-Key"] == "s3cret"


def test_status_prints_the_status_json(capsys):
    http = fake_api({f"/video/status/{JOB_ID}": (200, STATUS)})
    assert main(["status", JOB_ID], http=http) == 0
    assert json.loads(capsys.readouterr().out) == STATUS


def test_an_api_error_prints_its_detail_and_exits_1(capsys):
    detail = f"no job with id {JOB_ID}"
    http = fake_api({f"/video/status/{JOB_ID}": (404, {"detail": detail})})
    assert main(["status", JOB_ID], http=http) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "HTTP 404" in err and detail in err


def test_pipelines_print_one_aligned_line_each(capsys):
    pipelines = [{"id": "motion", "description": "moving"}, {"id": "qr", "description": "codes"}]
    http = fake_api({"/video/pipelines": (200, pipelines)})
    assert main(["pipelines"], http=http) == 0
    assert capsys.readouterr().out.splitlines() == ["motion  moving", "qr      codes"]
    assert main(["pipelines", "--json"], http=http) == 0
    assert json.loads(capsys.readouterr().out) == pipelines


def test_jobs_print_a_table_with_full_ids_and_errors(capsys):
    seen: list[httpx.Request] = []
    page = {"jobs": [STATUS], "limit": 5, "offset": 0}
    http = fake_api({"/video/jobs": (200, page)}, seen)
    assert main(["jobs", "--status", "failed", "--limit", "5"], http=http) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["JOB", "ID", "STATUS"]
    assert row.split()[:3] == [JOB_ID, "failed", "motion"]
    assert row.endswith("the video could not be opened")
    assert dict(seen[0].url.params) == {"status": "failed", "limit": "5", "offset": "0"}


def test_an_unknown_job_status_is_refused_before_any_request(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["jobs", "--status", "done"], http=fake_api({}))
    assert exit_info.value.code == 2


def test_submit_of_a_missing_file_says_so(tmp_path, capsys):
    assert main(["submit", str(tmp_path / "nope.mp4")], http=fake_api({})) == 1
    assert "no such file" in capsys.readouterr().err


def test_submit_wait_exits_1_with_the_error_message_when_the_job_fails(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    accepted = {"job_id": JOB_ID, "status": "pending", "pipeline_id": "motion"}
    http = fake_api({"/video/submit": (200, accepted), f"/video/status/{JOB_ID}": (200, STATUS)})
    assert main(["submit", str(clip), "--wait"], http=http) == 1
    out, err = capsys.readouterr()
    assert out.strip() == JOB_ID
    assert "failed" in err and "the video could not be opened" in err


def test_detail_lists_are_described_field_by_field():
    detail = [{"loc": ["query", "limit"], "msg": "too big"}, {"msg": "odd"}]
    assert describe_detail(detail) == "query.limit: too big; {'msg': 'odd'}"
    assert describe_detail("plain") == "plain"


def test_the_progress_file_reports_every_byte_it_reads():
    reads: list[int] = []
    wrapped = ProgressFile(io.BytesIO(bytes(200_000)), reads.append)
    assert wrapped.seek(0) == 0
    total = 0
    while chunk := wrapped.read(65536):
        total += len(chunk)
    assert total == sum(reads) == 200_000 and wrapped.tell() == 200_000


def test_results_go_to_a_file_with_o(tmp_path, capsys):
    document = {"job_id": JOB_ID, "results": [{"frame_index": 0, "result": {}}]}
    http = fake_api({f"/video/results/{JOB_ID}": (200, document)})
    target = tmp_path / "out.json"
    assert main(["results", JOB_ID, "-o", str(target)], http=http) == 0
    assert json.loads(target.read_text()) == document
    out, err = capsys.readouterr()
    assert out == "" and "1 frames" in err and str(target) in err
