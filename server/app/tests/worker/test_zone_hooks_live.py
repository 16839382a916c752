"""Zone events by webhook through the real API and worker: a face slides across a line
into a zone, and a local receiver gets the crossings, signed, once the job completes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.tests.worker.test_zones_live import ZONES, sliding_face, submit  # noqa: F401

pytestmark = pytest.mark.worker
SECRET = "live-zone-hook-secret"


class Receiver:
    """A webhook receiver on a free loopback port that keeps each request's headers
    and body."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> dict[str, dict]:
        return {json.loads(body)["event"]: json.loads(body) for _, body in self.requests}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def test_the_crossings_of_a_clip_reach_the_callback_signed(
    services_factory,
    sliding_face,  # noqa: F811
    receiver,
):
    services = services_factory(
        webhook_secret=SECRET, webhook_allow_private=True, webhook_retry_base_s=0.1
    )
    services.start_api()
    services.start_worker()

    code, answer = submit(
        services,
        sliding_face,
        zones=json.dumps(ZONES),
        callback_url=receiver.url,
        callback_events="true",
    )
    assert code == 200, answer
    job_id = answer["job_id"]
    status = services.wait_for(job_id)
    assert status["status"] == "completed", status
    assert status["options"]["callback_events"] is True

    deadline = time.monotonic() + 60
    while len(receiver.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = receiver.events()
    assert set(events) == {"zone.events", "job.completed"}, events
    zone = events["zone.events"]
    assert zone["job_id"] == job_id and zone["truncated"] is False
    assert [(e["kind"], e["name"], e["direction"]) for e in zone["events"]] == [
        ("line_cross", "gate", "in"),
        ("zone_enter", "right", ""),
        ("zone_exit", "right", ""),
    ]
    assert zone["events_total"] == 3 and zone["events"][2]["dwell_ms"] > 0
    # The same rows as the export, and signed like every event.
    lines = services.client.get(f"/video/jobs/{job_id}/events.csv").text.splitlines()
    assert [e["track_id"] for e in zone["events"]] == [int(r.split(",")[5]) for r in lines[1:]]
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Signature"] == expected


def test_past_the_cap_the_body_is_truncated_and_the_job_warns(
    services_factory,
    sliding_face,  # noqa: F811
    receiver,
):
    services = services_factory(
        webhook_secret=SECRET, webhook_allow_private=True, webhook_max_zone_events=1
    )
    services.start_api()
    services.start_worker()
    code, answer = submit(
        services,
        sliding_face,
        zones=json.dumps(ZONES),
        callback_url=receiver.url,
        callback_events="true",
    )
    assert code == 200, answer
    status = services.wait_for(answer["job_id"])
    assert status["status"] == "completed", status
    assert any("first 1 of 3 events" in w for w in status["warnings"]), status["warnings"]
    deadline = time.monotonic() + 60
    while "zone.events" not in receiver.events() and time.monotonic() < deadline:
        time.sleep(0.05)
    zone = receiver.events()["zone.events"]
    assert (zone["truncated"], zone["events_total"], len(zone["events"])) == (True, 3, 1)


def test_callback_events_without_a_callback_url_or_zones_is_400(
    services_factory,
    sliding_face,  # noqa: F811
):
    services = services_factory(webhook_secret=SECRET, webhook_allow_private=True)
    services.start_api()
    code, answer = submit(services, sliding_face, zones=json.dumps(ZONES), callback_events="true")
    assert code == 400 and "callback_url" in answer["detail"], answer
    code, answer = submit(
        services, sliding_face, callback_url="http://127.0.0.1:9/hook", callback_events="true"
    )
    assert code == 400 and "needs zones" in answer["detail"], answer
