"""One client cannot hold every connection, against the API as `make run` starts it:
trickling connections from one loopback address beyond its bound are answered with a
JSON 429 and closed, beyond the overall soft limit with a JSON 503, and `/health`
answers 200 throughout, from the same address and from another one. The attacker is
127.0.0.3 (loopback), so the test's own client on 127.0.0.1 is not counted with it."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

pytestmark = pytest.mark.worker

HALF_HEADER = b"GET /video/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: "
ATTACKER = "127.0.0.3"
OTHER_ADDRESS = "127.0.0.2"  # loopback too: a second client on the same machine


def trickling(port: int, count: int, source: str = ATTACKER) -> list[socket.socket]:
    """`count` connections that each send half a request header and then wait."""
    connections = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
        sock.sendall(HALF_HEADER)
        connections.append(sock)
    return connections


def answer_of(sock: socket.socket, until: float) -> tuple[int, dict] | None:
    """(status, JSON body) the server sent before closing, or None if it sent nothing
    by `until` (the connection is still held open)."""
    data = b""
    while True:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), data
    return int(head.split()[1]), json.loads(body)


def client_from(services, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=str(services.client.base_url),
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def close_all(connections: list[socket.socket]) -> None:
    for sock in connections:
        sock.close()


def test_connections_over_one_clients_bound_get_a_json_429_and_health_still_answers(
    services_factory,
):
    limits = {"http_limit_concurrency": 40, "http_header_timeout_s": 60}
    services = services_factory(
        **limits, http_max_connections_per_client=8, http_over_limit_header_timeout_s=1
    )
    services.start_api_as_make_run(**limits)
    held = trickling(services.api_port, 8)
    time.sleep(0.5)  # the API has counted them before the next ones open
    over = trickling(services.api_port, 52)  # 60 in all: past the limit of 40 for everyone
    try:
        with client_from(services, OTHER_ADDRESS) as other:  # during the flood
            assert other.get("/health").status_code == 200
        until = time.monotonic() + 20  # 1 s, with room for a loaded machine
        answers = [answer_of(sock, until) for sock in over]
        assert all(a is not None and a[0] == 429 for a in answers), answers
        detail = answers[0][1]["detail"]
        assert "VIDEO_JOBS_HTTP_MAX_CONNECTIONS_PER_CLIENT" in detail and "8" in detail
        # The first eight are still open: nothing was sent to them.
        assert all(answer_of(sock, time.monotonic() + 0.2) is None for sock in held)

        # This address is at its bound: /health is still served, anything else is 429.
        with client_from(services, ATTACKER) as same:
            for _ in range(5):
                assert same.get("/health").status_code == 200
            refused = same.get("/video/jobs")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "VIDEO_JOBS_HTTP_MAX_CONNECTIONS_PER_CLIENT" in refused.json()["detail"]
        with client_from(services, OTHER_ADDRESS) as other:  # another client is served
            assert other.get("/video/jobs").status_code == 200
            assert other.get("/health").status_code == 200
    finally:
        close_all(held + over)
    time.sleep(0.5)
    assert services.client.get("/video/jobs").status_code == 200  # the count went down


def test_the_last_share_of_the_connection_limit_is_kept_for_health(services_factory):
    limits = {"http_limit_concurrency": 40, "http_header_timeout_s": 60}
    services = services_factory(
        **limits,
        http_health_reserved_share=0.25,  # 10 of 40: 30 for everything else
        http_max_connections_per_client=0,  # no bound per address
        http_over_limit_header_timeout_s=1,
    )
    services.start_api_as_make_run(**limits)
    held = trickling(services.api_port, 30)
    time.sleep(0.5)
    over = trickling(services.api_port, 5)
    try:
        until = time.monotonic() + 20
        answers = [answer_of(sock, until) for sock in over]
        assert all(a is not None and a[0] == 503 for a in answers), answers
        assert "VIDEO_JOBS_HTTP_HEALTH_RESERVED_SHARE" in answers[0][1]["detail"]
        with client_from(services, OTHER_ADDRESS) as other:
            for _ in range(5):
                assert other.get("/health").status_code == 200
            refused = other.get("/video/jobs")
        assert refused.status_code == 503 and "try again" in refused.json()["detail"]
    finally:
        close_all(held + over)
    time.sleep(0.5)
    assert services.client.get("/video/jobs").status_code == 200
