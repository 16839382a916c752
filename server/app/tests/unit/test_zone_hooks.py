"""The zone.events webhook body, the callback_events option and the outbox rows."""

from __future__ import annotations

import json
import uuid

import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.domain.errors import InvalidOptions
from app.domain.model import Job, JobStatus, utcnow
from app.domain.options import AnalysisOptions, parse_options
from app.domain.zone_hooks import event_rows, zone_events_payload

ZONES = '{"lines": [{"name": "gate", "points": [[0, 0], [10, 10]]}]}'
CSV = [
    "timestamp_ms,frame_index,kind,name,label,track_id,direction,dwell_ms\n",
    "400,10,line_cross,gate,face,1,in,\n",
    "440,11,zone_enter,right,face,1,,\n",
    "2000,50,zone_exit,right,face,1,,1560\n",
]


def job(**changes) -> Job:
    values = dict(job_id=uuid.uuid4(), pipeline_id="faces", input_path="x.mp4")
    return Job(**{**values, **changes})


def test_rows_are_the_files_rows_with_numbers_as_numbers():
    rows = list(event_rows(CSV))
    assert rows[0] == {
        "timestamp_ms": 400,
        "frame_index": 10,
        "kind": "line_cross",
        "name": "gate",
        "label": "face",
        "track_id": 1,
        "direction": "in",
        "dwell_ms": None,
    }
    assert rows[2]["dwell_ms"] == 1560 and rows[1]["direction"] == ""


def test_the_body_carries_every_event_under_the_cap():
    the_job = job()
    body, warning = zone_events_payload(the_job, event_rows(CSV), max_events=10)
    data = json.loads(body)
    assert warning is None
    assert data["event"] == "zone.events" and data["job_id"] == str(the_job.job_id)
    assert (data["events_total"], data["truncated"], len(data["events"])) == (3, False, 3)


def test_past_the_cap_the_body_says_truncated_and_a_warning_names_the_setting():
    body, warning = zone_events_payload(job(), event_rows(CSV), max_events=2)
    data = json.loads(body)
    assert (data["events_total"], data["truncated"]) == (3, True)
    assert [e["kind"] for e in data["events"]] == ["line_cross", "zone_enter"]
    assert warning is not None and "VIDEO_JOBS_WEBHOOK_MAX_ZONE_EVENTS" in warning


def test_callback_events_needs_zones():
    with pytest.raises(InvalidOptions, match="callback_events needs zones"):
        parse_options({"callback_events": "true"})
    with pytest.raises(InvalidOptions, match="callback_events must be true or false"):
        parse_options({"callback_events": "maybe", "zones": ZONES})


def test_callback_events_is_echoed_only_when_asked_for():
    assert "callback_events" not in parse_options({"zones": ZONES}).to_dict()
    options = parse_options({"callback_events": "true", "zones": ZONES})
    assert options.to_dict()["callback_events"] is True
    assert AnalysisOptions.from_dict(options.to_dict()) == options


def test_extra_events_go_into_the_outbox_ahead_of_the_jobs_own_event():
    jobs = InMemoryJobRepository()
    the_job = job(callback_url="http://example.test/hook")
    jobs.add(the_job)
    now = utcnow()
    jobs.transition(the_job.job_id, JobStatus.PENDING, JobStatus.RUNNING, now=now)
    jobs.transition(
        the_job.job_id, JobStatus.RUNNING, JobStatus.COMPLETED, now=now, extra_events=['{"a": 1}']
    )
    payloads = [d.payload for d in jobs.webhook_deliveries(the_job.job_id)]
    assert payloads[0] == '{"a": 1}' and json.loads(payloads[1])["event"] == "job.completed"


def test_without_a_callback_url_extra_events_are_not_written():
    jobs = InMemoryJobRepository()
    the_job = job()
    jobs.add(the_job)
    now = utcnow()
    jobs.transition(the_job.job_id, JobStatus.PENDING, JobStatus.RUNNING, now=now)
    jobs.transition(
        the_job.job_id, JobStatus.RUNNING, JobStatus.COMPLETED, now=now, extra_events=["{}"]
    )
    assert jobs.webhook_deliveries(the_job.job_id) == []
