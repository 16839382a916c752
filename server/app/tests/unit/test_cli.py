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


def test_url_and_key_work_after_the_command_too(monkeypatch):
    monkeypatch.delenv("VIDEO_JOBS_URL", raising=False)
    monkeypatch.delenv("VIDEO_JOBS_API_KEY", raising=False)
    parse = build_parser().parse_args
    args = parse(["submit", "clip.mp4", "--url", "http://host:8000", "--api-key", "k"])
    assert (args.url, args.api_key, args.file) == ("http://host:8000", "k", "clip.mp4")
    args = parse(["--url", "http://before", "jobs", "--api-key", "after"])
    assert (args.url, args.api_key) == ("http://before", "after")
    assert parse(["--url", "http://a", "status", JOB_ID, "--url", "http://b"]).url == "http://b"
    assert parse(["summary", JOB_ID]).url == "http://127.0.0.1:8000"


def mp4_file(tmp_path, name="clip.mp4"):
    clip = tmp_path / name
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    return clip


ACCEPTED = {"job_id": JOB_ID, "status": "pending", "pipeline_id": "people"}


def test_submit_sends_the_options_and_tag_as_form_fields(tmp_path, capsys):
    seen: list[httpx.Request] = []
    pipelines = [{"id": "people", "description": "people walking"}]
    http = fake_api({"/video/pipelines": (200, pipelines), "/video/submit": (200, ACCEPTED)}, seen)
    argv = ["submit", str(mp4_file(tmp_path)), "--pipeline", "people", "--sample-fps", "2"]
    argv += ["--start", "1.5", "--end", "30", "--min-confidence", "0.4"]
    argv += ["--labels", "person,dog", "--annotate", "--tag", "front door", "--no-split"]
    assert main(argv, http=http) == 0
    assert [request.url.path for request in seen] == ["/video/pipelines", "/video/submit"]
    body = seen[-1].read().decode("latin-1")
    expected = {
        "pipeline_id": "people",
        "sample_fps": "2",
        "start_s": "1.5",
        "end_s": "30",
        "min_confidence": "0.4",
        "labels": "person,dog",
        "annotate": "true",
        "split": "false",
        "tag": "front door",
    }
    for name, value in expected.items():
        assert f'name="{name}"\r\n\r\n{value}\r\n' in body, name
    assert 'filename="clip.mp4"' in body


def test_submit_without_options_sends_only_the_file(tmp_path, capsys):
    seen: list[httpx.Request] = []
    http = fake_api({"/video/submit": (200, ACCEPTED)}, seen)
    assert main(["submit", str(mp4_file(tmp_path))], http=http) == 0
    body = seen[0].read().decode("latin-1")
    assert body.count("form-data; name=") == 1 and 'form-data; name="file"' in body


@pytest.mark.parametrize("content", [b"GIF89a" + bytes(100), b"\x00\x00\x00\x18moov", b""])
def test_a_file_that_is_not_an_mp4_is_refused_before_any_upload(tmp_path, capsys, content):
    clip = tmp_path / "notes.mp4"
    clip.write_bytes(content)
    seen: list[httpx.Request] = []
    assert main(["submit", str(clip)], http=fake_api({}, seen)) == 1
    assert seen == []
    err = capsys.readouterr().err
    assert ("not an MP4" in err) or ("is empty" in err)


def test_waiting_shows_frames_fps_and_eta():
    from app.cli.waiting import frame_progress

    running = {"status": "running", "frames_done": 120, "frames_total": 600, "fps": 48.0}
    shown = frame_progress({**running, "eta_s": 10.0})
    assert shown == {"completed": 120, "total": 600, "frames": "120/600 frames, 48.0 fps, ETA 0:10"}
    assert frame_progress({**running, "eta_s": 3725})["frames"].endswith("ETA 1:02:05")
    pending = {"status": "pending", "frames_done": 0, "frames_total": None}
    assert frame_progress(pending) == {"completed": 0, "total": None, "frames": "0 frames"}
    done = {"status": "completed", "frames_done": 30, "frames_total": None}
    assert frame_progress(done)["total"] == 30


SUMMARY = {
    "job_id": JOB_ID,
    "video": {},
    "warnings": ["the video ends early"],
    "shots": [
        {"index": 0, "start_frame": 0, "end_frame": 299, "start_ms": 0, "end_ms": 11960},
        {"index": 1, "start_frame": 300, "end_frame": 1799, "start_ms": 12000, "end_ms": 71960},
    ],
    "labels": [
        {"label": "dog", "tracks": 1, "frames": 700, "screen_time_ms": 29000, "max_confidence": 0.9}
    ],
    "tracks": [
        {
            "track_id": 7,
            "label": "dog",
            "first_frame": 300,
            "last_frame": 1025,
            "start_ms": 12000,
            "end_ms": 41000,
            "frames": 700,
            "max_confidence": 0.934,
            "best_frame": 512,
            "best_bbox": [1, 2, 3, 4],
        }
    ],
}


def test_summary_prints_shots_labels_and_tracks_as_tables(capsys):
    http = fake_api({f"/video/jobs/{JOB_ID}/summary": (200, SUMMARY)})
    assert main(["summary", JOB_ID], http=http) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "SHOTS (2)"
    assert lines[1].split() == ["SHOT", "START", "END", "FRAMES"]
    assert lines[3].split() == ["1", "0:12.000", "1:11.960", "300-1799"]
    track = next(line for line in lines if line.startswith("#7"))
    assert track.split() == ["#7", "dog", "0:12.000", "0:41.000", "700", "0.93", "512"]
    assert "warning: the video ends early" in lines
    assert main(["summary", JOB_ID, "--json"], http=http) == 0
    assert json.loads(capsys.readouterr().out) == SUMMARY


def test_summary_of_a_job_without_one_says_not_available(capsys):
    http = fake_api({})
    assert main(["summary", JOB_ID], http=http) == 1
    err = capsys.readouterr().err
    assert "summary of job" in err and "not available" in err and "HTTP 404" in err


def test_export_streams_the_file_and_a_missing_one_leaves_nothing(tmp_path, capsys):
    csv = b"frame_index,timestamp_ms,label,track_id,x,y,w,h,confidence,text\n" * 5000

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/detections.csv"):
            return httpx.Response(200, content=csv, headers={"content-type": "text/csv"})
        return httpx.Response(404, json={"detail": "no annotated video for this job"})

    http = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://api.test")
    target = tmp_path / "out.csv"
    assert main(["export", JOB_ID, "--format", "csv", "-o", str(target)], http=http) == 0
    assert target.read_bytes() == csv
    assert str(target) in capsys.readouterr().err
    video = tmp_path / "out.mp4"
    assert main(["export", JOB_ID, "--format", "mp4", "-o", str(video)], http=http) == 1
    err = capsys.readouterr().err
    assert "annotated.mp4 of job" in err and "not available" in err
    assert "no annotated video for this job" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no partial file


def test_jobs_show_the_name_and_filter_by_tag(capsys):
    seen: list[httpx.Request] = []
    named = {**STATUS, "filename": "front door.mp4", "tag": "porch"}
    page = {"jobs": [named], "limit": 20, "offset": 0, "total": 41}
    http = fake_api({"/video/jobs": (200, page)}, seen)
    assert main(["jobs", "--tag", "porch"], http=http) == 0
    out, err = capsys.readouterr()
    header, row = out.splitlines()
    assert "NAME" in header and "front door.mp4" in row
    assert dict(seen[0].url.params)["tag"] == "porch"
    assert "jobs 1-1 of 41" in err
