"""The read side's limits, adapter by adapter: the health write on every repository, the
webhook sender's address pinning against a real receiver, and results read from real
files (bounded scans, the spliced head, a missing file)."""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.adapters.db.engine import build_session_factory
from app.adapters.db.migrate import migrate_to_head
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.adapters.storage.filesystem import FilesystemStorage
from app.adapters.webhooks.httpx_sender import HttpxWebhookSender
from app.domain.errors import InvalidCallbackUrl, JobFilesGone
from app.domain.model import Job, JobStatus, results_key
from app.domain.ports import JobRepository
from app.domain.results import find_frame, stored_document
from app.domain.results_pages import ResultsPage, ResultsQuery, read_page
from app.domain.results_writer import write_results
from app.tests.integration.conftest import empty_database

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_check_writable_commits_a_write_again_and_again(repo: JobRepository) -> None:
    repo.check_writable(T0)
    repo.check_writable(T0.replace(year=2027))  # the one row is updated, not duplicated


def test_check_writable_fails_while_another_process_holds_the_write_lock(tmp_path: Path):
    with empty_database("sqlite", tmp_path) as engine:
        migrate_to_head(engine)
        repo = SqlAlchemyJobRepository(build_session_factory(engine))
        repo.check_writable(T0)
        database = engine.url.database
        assert database is not None
        locker = sqlite3.connect(database, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")
            with pytest.raises(Exception, match="locked"):
                repo.check_writable(T0)
            repo.ping()  # reads still work: only a write shows the problem
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        repo.check_writable(T0)  # and the busy timeout is back to normal afterwards


class _Receiver:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.hosts.append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    made = _Receiver()
    yield made
    made.close()


def test_delivery_rechecks_the_address_a_name_resolves_to_now(receiver: _Receiver) -> None:
    """A name that was public at submit and points at loopback by delivery time is
    refused without connecting (DNS rebinding)."""
    sender = HttpxWebhookSender(1.0, resolve=lambda host: ["127.0.0.1"])
    try:
        with pytest.raises(InvalidCallbackUrl, match="loopback"):
            sender.post(f"http://hooks.test:{receiver.port}/x", b"{}", {})
    finally:
        sender.close()
    assert receiver.hosts == []


def test_delivery_connects_to_the_checked_address_with_the_urls_host(receiver: _Receiver):
    lookups: list[str] = []

    def resolve(host: str) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    sender = HttpxWebhookSender(2.0, allow_private=True, resolve=resolve)
    try:
        status = sender.post(f"http://hooks.test:{receiver.port}/x", b"{}", {})
    finally:
        sender.close()
    assert status == 204
    assert lookups == ["hooks.test"]  # one lookup: the address checked is the one used
    assert receiver.hosts == [f"hooks.test:{receiver.port}"]


@pytest.fixture
def stored(tmp_path: Path) -> tuple[FilesystemStorage, Job]:
    storage = FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    job = Job(uuid.uuid4(), "motion", "x.mp4", status=JobStatus.COMPLETED)
    items = [
        {"frame_index": i, "result": {"detections": [{"label": "a" if i == 250 else "b"}]}}
        for i in range(300)
    ]
    video = {"fps": 25.0, "frame_count": 300, "width": 64, "height": 48}
    write_results(storage, job, video, items, ["cut short"])
    return storage, job


def items_of(page: ResultsPage) -> list[dict]:
    body = b"".join(page.chunks)
    assert len(body) == page.length
    return json.loads(b"[" + body + b"]")


def test_a_filtered_page_examines_at_most_max_scan_frames(stored) -> None:
    storage, job = stored
    page = read_page(storage, job, ResultsQuery(label="a", limit=1, max_scan=100))
    assert (items_of(page), page.next_offset) == ([], 100)
    page = read_page(storage, job, ResultsQuery(label="a", offset=200, limit=1))
    assert [item["frame_index"] for item in items_of(page)] == [250]
    assert page.next_offset == 251


def test_a_page_holds_whole_items_up_to_max_bytes(stored) -> None:
    """Unfiltered, the page is the lines' bytes; the byte bound cuts it between items
    (never inside one) and next_offset continues at the first item left out."""
    storage, job = stored
    line = len(b'{"frame_index":0,"result":{"detections":[{"label":"b"}]}}') + 1
    page = read_page(storage, job, ResultsQuery(limit=100, max_bytes=line * 3 + 2))
    assert [item["frame_index"] for item in items_of(page)] == [0, 1, 2]
    assert page.next_offset == 3
    one = read_page(storage, job, ResultsQuery(offset=3, limit=100, max_bytes=1))
    assert [item["frame_index"] for item in items_of(one)] == [3] and one.next_offset == 4
    end = read_page(storage, job, ResultsQuery(offset=298, limit=100))
    assert [item["frame_index"] for item in items_of(end)] == [298, 299]
    assert end.next_offset is None


def test_a_filtered_page_holds_at_most_max_bytes_of_matches(stored) -> None:
    storage, job = stored
    encoded = len(b'{"frame_index":0,"result":{"detections":[{"label":"b"}]}}')
    query = ResultsQuery(label="b", limit=100, max_bytes=encoded * 2 + 1)
    page = read_page(storage, job, query)
    assert [item["frame_index"] for item in items_of(page)] == [0, 1]
    assert page.next_offset == 2


def test_the_whole_document_is_the_stored_bytes_after_a_rewritten_head(stored) -> None:
    storage, job = stored
    extra: dict[str, Any] = {
        "created_at": "c",
        "updated_at": "u",
        "warnings": [],
        "options": {},
        "tag": None,
    }
    document = stored_document(storage, job, extra, chunk_size=1000)
    body = document.head + b"".join(document.chunks)
    assert len(body) == document.length
    parsed = json.loads(body)
    assert parsed["warnings"] == ["cut short"]  # the document's own, not the default
    assert (parsed["created_at"], parsed["updated_at"], parsed["options"]) == ("c", "u", {})
    assert len(parsed["results"]) == 300
    stored_bytes = storage.load_file(results_key(job.job_id))
    assert body.endswith(stored_bytes[stored_bytes.index(b',"results":[') :])


def test_a_missing_results_file_is_job_files_gone(stored) -> None:
    storage, job = stored
    storage.delete_file(results_key(job.job_id))
    with pytest.raises(JobFilesGone, match="missing from storage"):
        stored_document(storage, job, {"created_at": "c", "updated_at": "u"})


def test_a_frames_result_is_found_by_its_frame_index_when_frames_were_sampled(tmp_path):
    storage = FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    job = Job(uuid.uuid4(), "motion", "x.mp4", status=JobStatus.COMPLETED)
    items = [{"frame_index": i, "result": {"n": i}} for i in range(0, 3000, 5)]
    write_results(storage, job, {"frame_count": 3000}, items)
    assert find_frame(storage, job, 2995) == {"frame_index": 2995, "result": {"n": 2995}}
    assert find_frame(storage, job, 0)["result"] == {"n": 0}
    assert find_frame(storage, job, 7) is None  # not analysed
    assert find_frame(storage, job, 5000) is None
