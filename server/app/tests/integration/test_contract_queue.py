"""The QueueService contract, run in-process, across the Manager server in both
directions (API puts / worker gets, and the reverse) and on Redis (when
VIDEO_JOBS_TEST_REDIS_URL is set), plus what only the Manager has: authentication,
reconnection and the host it listens on, and what only Redis has: recovering the ids
of a consumer that died between taking an id and acknowledging it."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest

from app.adapters.queue.in_memory import InProcessQueue, SharedQueue
from app.adapters.queue.manager import ManagerQueueClient, ManagerQueueServer
from app.adapters.queue.redis_queue import RedisQueue
from app.bootstrap import build_queue_server
from app.domain.errors import QueueUnavailable
from app.domain.ports import QueueService
from app.settings import Settings

RETRIES = 100
REDIS_URL = os.environ.get("VIDEO_JOBS_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="VIDEO_JOBS_TEST_REDIS_URL is not set")


class RedisPayload:
    """The raw payload of a Redis queue, oldest first, like SharedQueue.snapshot()."""

    def __init__(self, queue: RedisQueue) -> None:
        self.queue = queue

    def snapshot(self) -> list[str]:
        # The sync client returns the list; redis-py types it as `Awaitable | list`.
        raw = cast(list[bytes], self.queue._redis.lrange(self.queue.pending_key, 0, -1))
        return [value.decode() for value in reversed(raw)]


@dataclass
class QueueEnds:
    producer: QueueService
    consumer: QueueService
    shared: SharedQueue | RedisPayload  # the one real queue behind both ends


@pytest.fixture
def redis_pair() -> Iterator[tuple[RedisQueue, RedisQueue]]:
    """An API-side and a worker-side RedisQueue on a queue name of the test's own."""
    name = f"vj-test-{uuid.uuid4().hex[:12]}"
    api = RedisQueue(REDIS_URL or "", name=name, consumer="api")
    worker = RedisQueue(REDIS_URL or "", name=name, consumer="worker")
    try:
        yield api, worker
    finally:
        keys = list(api._redis.scan_iter(match=f"{name}:*"))
        if keys:
            api._redis.delete(*keys)
        api.close()
        worker.close()


def serve(port: int = 0, authkey: bytes = b"", host: str = "127.0.0.1") -> ManagerQueueServer:
    return ManagerQueueServer(host, port, authkey or secrets.token_bytes(16)).start()


@pytest.fixture
def served() -> Iterator[tuple[ManagerQueueServer, ManagerQueueClient]]:
    key = secrets.token_bytes(16)
    server = serve(authkey=key)
    client = ManagerQueueClient(*server.address, key)
    try:
        yield server, client
    finally:
        client.close()
        server.close()


@pytest.fixture(
    params=[
        pytest.param("in-process", marks=pytest.mark.unit),
        pytest.param("server-to-client", marks=pytest.mark.integration),
        pytest.param("client-to-server", marks=pytest.mark.integration),
        pytest.param("redis", marks=[pytest.mark.integration, needs_redis]),
    ]
)
def ends(request: pytest.FixtureRequest) -> QueueEnds:
    if request.param == "redis":
        api, worker = request.getfixturevalue("redis_pair")
        return QueueEnds(api, worker, RedisPayload(api))
    if request.param == "in-process":
        queue = InProcessQueue()
        return QueueEnds(queue, queue, queue.shared)
    server, client = request.getfixturevalue("served")
    if request.param == "server-to-client":
        return QueueEnds(server, client, server.shared)
    return QueueEnds(client, server, server.shared)


def test_ids_come_out_in_the_order_they_went_in(ends: QueueEnds) -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    for job_id in ids:
        ends.producer.put(job_id)
    assert [ends.consumer.get(timeout=5) for _ in ids] == ids


def test_get_on_an_empty_queue_returns_none_after_the_timeout(ends: QueueEnds) -> None:
    assert ends.consumer.get(timeout=0.05) is None


def test_get_blocks_until_an_id_arrives(ends: QueueEnds) -> None:
    job_id = uuid.uuid4()
    putter = threading.Timer(0.3, ends.producer.put, args=(job_id,))
    putter.start()
    try:
        assert ends.consumer.get(timeout=30) == job_id
    finally:
        putter.cancel()
        putter.join()


@pytest.mark.parametrize("payload", ["not-a-uuid", {"job_id": "x", "path": "/etc"}, 42])
def test_anything_but_a_job_id_is_rejected(ends: QueueEnds, payload: object) -> None:
    with pytest.raises(ValueError):
        ends.producer.put(payload)  # type: ignore[arg-type]
    assert ends.shared.snapshot() == []


def test_the_payload_is_the_job_id_and_nothing_else(ends: QueueEnds) -> None:
    job_id = uuid.uuid4()
    ends.producer.put(job_id)
    assert ends.shared.snapshot() == [str(job_id)]


def test_queued_ids_is_a_snapshot_that_consumes_nothing(ends: QueueEnds) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert ends.consumer.queued_ids() == set()
    ends.producer.put(first)
    ends.producer.put(second)
    assert ends.consumer.queued_ids() == ends.producer.queued_ids() == {first, second}
    assert ends.consumer.size() == 2
    assert ends.consumer.get(timeout=5) == first
    ends.consumer.ack(first)  # the claim was tried: the id is no longer in anyone's hands
    assert ends.producer.queued_ids() == {second}
    assert ends.producer.size() == 1


def test_the_same_id_may_be_queued_twice(ends: QueueEnds) -> None:
    job_id = uuid.uuid4()
    ends.producer.put(job_id)
    ends.producer.put(job_id)
    assert ends.consumer.size() == 2
    assert [ends.consumer.get(timeout=5), ends.consumer.get(timeout=5)] == [job_id, job_id]
    assert ends.consumer.get(timeout=0.01) is None


def get_when_reachable(client: QueueService, timeout: float = 0.2) -> uuid.UUID | None:
    """Retry a get (bounded) while the client reconnects, as the worker's loop does."""
    for _ in range(RETRIES):
        try:
            job_id = client.get(timeout)
        except QueueUnavailable:
            time.sleep(0.05)
            continue
        if job_id is not None:
            return job_id
    return None


@pytest.mark.integration
def test_a_client_with_the_wrong_authkey_is_refused(
    served: tuple[ManagerQueueServer, ManagerQueueClient],
) -> None:
    server, good = served
    intruder = ManagerQueueClient(*server.address, b"not-the-key")
    try:
        for call in (lambda: intruder.put(uuid.uuid4()), lambda: intruder.get(0.01), intruder.size):
            with pytest.raises(QueueUnavailable, match="authkey"):
                call()
    finally:
        intruder.close()
    assert server.shared.snapshot() == []
    job_id = uuid.uuid4()
    good.put(job_id)
    assert server.get(timeout=5) == job_id


@pytest.mark.integration
def test_a_client_reconnects_to_a_server_restarted_on_the_same_port() -> None:
    key = secrets.token_bytes(16)
    first = serve(authkey=key)
    client = ManagerQueueClient(*first.address, key)
    second = None
    try:
        before = uuid.uuid4()
        first.put(before)
        assert client.get(timeout=5) == before
        first.close()
        with pytest.raises(QueueUnavailable):
            client.get(timeout=0.1)
        second = serve(first.address[1], key)
        after = uuid.uuid4()
        second.put(after)
        assert get_when_reachable(client) == after
    finally:
        client.close()
        first.close()
        if second is not None:
            second.close()


@pytest.mark.integration
def test_no_call_seems_to_work_once_the_server_has_closed() -> None:
    """A put after the API stopped must fail loudly, never look accepted. Repeated,
    because a stale reply from the closing server only sometimes wins the race."""
    for _round in range(10):
        key = secrets.token_bytes(16)
        server = serve(authkey=key)
        client = ManagerQueueClient(*server.address, key)
        try:
            client.put(uuid.uuid4())
            assert client.size() == 1
            server.close()
            with pytest.raises(QueueUnavailable):
                client.put(uuid.uuid4())
        finally:
            client.close()
            server.close()


@pytest.mark.integration
def test_a_client_started_before_the_server_connects_once_it_is_up() -> None:
    key = secrets.token_bytes(16)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ManagerQueueClient("127.0.0.1", port, key)
    with pytest.raises(QueueUnavailable, match="unreachable"):
        client.size()
    server = serve(port, key)
    try:
        job_id = uuid.uuid4()
        server.put(job_id)
        assert get_when_reachable(client) == job_id
    finally:
        client.close()
        server.close()


@pytest.mark.integration
def test_closing_the_server_cuts_clients_off_and_ends_its_threads() -> None:
    before = set(threading.enumerate())
    key = secrets.token_bytes(16)
    server = serve(authkey=key)
    client = ManagerQueueClient(*server.address, key)
    client.put(uuid.uuid4())
    assert server.is_serving()
    server.close()
    assert not server.is_serving()
    with pytest.raises(QueueUnavailable):
        client.size()
    client.close()
    for _ in range(RETRIES):
        leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not leftover:
            break
        time.sleep(0.05)
    assert leftover == []


@pytest.mark.integration
def test_the_default_queue_host_is_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("VIDEO_JOBS_QUEUE_HOST", "VIDEO_JOBS_QUEUE_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.queue_host == "127.0.0.1"
    server = build_queue_server(settings.model_copy(update={"queue_port": 0})).start()
    try:
        assert server.address[0] == "127.0.0.1"
    finally:
        server.close()


@pytest.mark.integration
def test_the_server_listens_only_on_the_host_it_is_given() -> None:
    try:
        server = serve(host="127.0.0.2")
    except OSError:
        pytest.skip("this machine cannot bind 127.0.0.2")
    try:
        host, port = server.address
        assert host == "127.0.0.2"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        socket.create_connection((host, port), timeout=5).close()
    finally:
        server.close()


@pytest.mark.integration
def test_a_queue_port_in_use_is_a_clear_error(settings) -> None:
    import socket

    from app.bootstrap import build_queue_server
    from app.domain.errors import QueueUnavailable

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.queue_port = taken.getsockname()[1]
        with pytest.raises(QueueUnavailable, match="VIDEO_JOBS_QUEUE_PORT"):
            build_queue_server(settings)


@pytest.mark.integration
@needs_redis
def test_redis_ids_taken_but_not_acknowledged_stay_visible_and_come_back_if_the_taker_dies(
    redis_pair,
) -> None:
    api, worker = redis_pair
    job_id = uuid.uuid4()
    api.put(job_id)
    assert worker.get(timeout=5) == job_id
    assert api.queued_ids() == {job_id}, "an id in a worker's hands is not lost"
    assert api.recover_orphans() == 0, "a live worker keeps what it took"
    worker._redis.delete(worker._alive_key)  # the worker died: its liveness key expired
    assert api.recover_orphans() == 1
    assert api.get(timeout=5) == job_id
    api.ack(job_id)
    assert api.queued_ids() == set()


@pytest.mark.integration
def test_redis_unreachable_is_queue_unavailable() -> None:
    queue = RedisQueue(f"redis://127.0.0.1:{free_tcp_port()}/0", name="vj-test-down")
    try:
        with pytest.raises(QueueUnavailable):
            queue.put(uuid.uuid4())
        with pytest.raises(QueueUnavailable):
            queue.get(timeout=0.1)
        with pytest.raises(QueueUnavailable):
            queue.ping()
    finally:
        queue.close()


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
