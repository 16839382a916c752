"""A worker's queue client follows the key file: after the server refuses its key it
reads the key again before the next try (a rotated key needs no restart)."""

from __future__ import annotations

import secrets
import uuid

import pytest

from app.adapters.queue.manager import ManagerQueueClient, ManagerQueueServer
from app.domain.errors import QueueUnavailable

pytestmark = pytest.mark.integration


def test_after_a_refused_key_the_client_reads_the_key_again():
    keys = [secrets.token_bytes(32)]
    reads: list[bytes] = []

    def read_key() -> bytes:
        reads.append(keys[-1])
        return keys[-1]

    first = ManagerQueueServer("127.0.0.1", 0, keys[0]).start()
    client = ManagerQueueClient(*first.address, read_key)
    second = None
    try:
        assert client.size() == 0 and len(reads) == 1  # read once, at start
        first.close()
        keys.append(secrets.token_bytes(32))  # the key file was recreated
        second = ManagerQueueServer("127.0.0.1", first.address[1], keys[-1]).start()
        job_id = uuid.uuid4()
        second.put(job_id)
        refusals = 0
        for _ in range(5):  # the dead connection, then the old key refused, then the new one
            try:
                assert client.get(timeout=5) == job_id
                break
            except QueueUnavailable as exc:
                refusals += "refused our authkey" in str(exc)
        else:
            pytest.fail("the client never reconnected with the new key")
        assert refusals == 1
        assert reads[-1] == keys[-1] and len(reads) == 2  # read again once, after the refusal
    finally:
        client.close()
        first.close()
        if second is not None:
            second.close()


def test_a_key_that_cannot_be_read_again_is_a_pause_not_a_crash():
    key = secrets.token_bytes(32)
    server = ManagerQueueServer("127.0.0.1", 0, key).start()
    answers = iter([secrets.token_bytes(32)])  # a wrong key first

    def read_key() -> bytes:
        try:
            return next(answers)
        except StopIteration:
            raise OSError("queue.key is being rewritten") from None

    client = ManagerQueueClient(*server.address, read_key)
    try:
        with pytest.raises(QueueUnavailable, match="refused our authkey"):
            client.size()
        with pytest.raises(QueueUnavailable, match="could not be read again"):
            client.size()
    finally:
        client.close()
        server.close()
