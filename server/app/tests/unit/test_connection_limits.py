"""Which connections are restricted to /health: the per-address bound and the share of
the concurrency limit kept for probes."""

from __future__ import annotations

import json

import pytest

from app.api.connection_limits import (
    ClientLedger,
    ConnectionRules,
    answer_at_once,
    refusal_for,
    reserved_for_health,
)
from app.settings import Settings

pytestmark = pytest.mark.unit

RULES = ConnectionRules(per_client=4, soft_limit=30, over_limit_header_timeout_s=1.0)


def test_an_address_at_its_bound_is_refused_with_429():
    assert refusal_for(RULES, held_by_client=3, open_connections=10) is None
    refusal = refusal_for(RULES, held_by_client=4, open_connections=10)
    assert refusal is not None and refusal.status == 429
    assert "VIDEO_JOBS_HTTP_MAX_CONNECTIONS_PER_CLIENT" in refusal.detail


def test_past_the_soft_limit_everyone_is_refused_with_503():
    assert refusal_for(RULES, held_by_client=0, open_connections=30) is None
    refusal = refusal_for(RULES, held_by_client=0, open_connections=31)
    assert refusal is not None and refusal.status == 503


def test_no_bound_per_address_when_it_is_zero():
    rules = ConnectionRules(per_client=0, soft_limit=30, over_limit_header_timeout_s=1.0)
    assert refusal_for(rules, held_by_client=29, open_connections=30) is None


def test_the_refusal_is_a_complete_json_answer_that_closes():
    raw = refusal_for(RULES, 4, 10).response()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    assert b"connection: close" in head and b"retry-after: 1" in head
    assert f"content-length: {len(body)}".encode() in head
    assert "try again" in json.loads(body)["detail"]


def test_the_ledger_counts_open_connections_per_address():
    ledger = ClientLedger()
    assert [ledger.opened("10.0.0.1") for _ in range(3)] == [0, 1, 2]
    assert ledger.opened("10.0.0.2") == 0
    ledger.closed("10.0.0.1")
    assert ledger.held("10.0.0.1") == 2 and ledger.held("10.0.0.2") == 1
    ledger.closed("10.0.0.2")
    assert ledger.held("10.0.0.2") == 0


def test_the_reserve_is_a_share_of_the_limit_and_never_empty():
    assert reserved_for_health(Settings(_env_file=None)) == 50  # 5 % of 1000
    assert reserved_for_health(Settings(_env_file=None, http_limit_concurrency=10)) == 1
    with pytest.raises(ValueError):
        Settings(_env_file=None, http_health_reserved_share=0.9)


def test_past_its_bound_while_the_api_is_past_the_soft_limit_a_connection_goes_at_once():
    assert not answer_at_once(RULES, held_by_client=4, open_connections=30)  # waits 1 s
    assert answer_at_once(RULES, held_by_client=4, open_connections=31)
    assert not answer_at_once(RULES, held_by_client=3, open_connections=31)  # may be /health
