"""Attacks on the submit side, against a real API started as `make run` starts it: a
keyless client cannot make the API read, spool or hold its body; an upload is
written once, inside DATA_DIR, never to the temp dir; a full disk is 507; long
pipeline_id and callback_url values are refused without being echoed."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from app.testing.processes import Services
from app.tests.worker.limits_support import PeakSampler
from app.tests.worker.upload_support import (
    MIB,
    bytes_written,
    chunked,
    closing,
    file_part,
    files_under,
    filler,
    mdat,
    send_until_answered,
    tmpfs,
    valid_mp4_head,
)

pytestmark = pytest.mark.worker

API_KEY = "submit-live-test-key-0123456789abcdef"
BOUNDARY = "a1-submit-boundary-7f3e"
GROWTH_MB = 64
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _api(services_factory, tmp_path: Path, **settings: object) -> Services:
    """A Services whose API runs with its own empty TMPDIR (to see it stays empty)."""
    services = services_factory(api_key=API_KEY, **settings)
    services.env["TMPDIR"] = str(_temp_dir(services))
    return services


def _temp_dir(services: Services) -> Path:
    path = services.root / "tmp"
    path.mkdir(exist_ok=True)
    return path


def _video_body(size: int, name: str = "file") -> tuple[Iterator[bytes], int]:
    """One file part holding a valid MP4 header and a `size`-byte mdat; its length."""
    head = valid_mp4_head()
    parts = itertools.chain(
        file_part(BOUNDARY, name, "clip.mp4", itertools.chain([head], mdat(size))),
        [closing(BOUNDARY)],
    )
    framing = len(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"')
    framing += len('; filename="clip.mp4"\r\n\r\n') + 2 + len(closing(BOUNDARY))
    return parts, framing + len(head) + 16 + size


def _post(services: Services, body: Iterable[bytes], length: int | None, key: str | None):
    headers = dict(MULTIPART)
    if key is not None:
        headers["X-API-Key"] = key
    if length is None:
        headers["Transfer-Encoding"] = "chunked"
        body = chunked(body)
    else:
        headers["Content-Length"] = str(length)
    return send_until_answered(services.api_port, "/video/submit", headers, body)


def _stored(services: Services) -> list[str]:
    return sorted(p.name for p in (services.data_dir / "video_jobs").iterdir())


@pytest.mark.parametrize("path", ["/video/submit", "/v1/video/submit"])
def test_keyless_thousand_parts_of_a_megabyte_are_401_before_the_body(
    services_factory, tmp_path, path
):
    services = _api(services_factory, tmp_path)
    api = services.start_api_as_make_run()
    before = files_under(services.data_dir)
    written = bytes_written(api.pid)
    part = int(1.04 * MIB)
    parts = itertools.chain.from_iterable(
        file_part(BOUNDARY, f"file{i}", f"{i}.bin", filler(part)) for i in range(1000)
    )
    body = chunked(itertools.chain(parts, [closing(BOUNDARY)]))
    headers = {**MULTIPART, "Transfer-Encoding": "chunked"}
    with PeakSampler(api.pid) as memory:
        response = send_until_answered(services.api_port, path, headers, body)
    assert response.status == 401
    assert response.json() == {"detail": "missing or wrong X-API-Key header"}
    assert response.sent < 64 * MIB  # answered long before the 1.04 GB were sent
    assert memory.growth_mb < GROWTH_MB, f"API grew {memory.growth_mb:.1f} MB"
    assert bytes_written(api.pid) - written < MIB  # nothing spooled anywhere
    assert files_under(services.data_dir) == before
    assert list(_temp_dir(services).iterdir()) == []


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_keyless_gigabyte_upload_is_401_and_nothing_is_written(services_factory, tmp_path, key):
    services = _api(services_factory, tmp_path)
    api = services.start_api_as_make_run()
    written = bytes_written(api.pid)
    body, length = _video_body(1024 * MIB)
    with PeakSampler(api.pid) as memory:
        response = _post(services, body, length, key)
    assert response.status == 401
    assert "X-API-Key" in response.json()["detail"]
    assert response.sent < 64 * MIB
    assert memory.growth_mb < GROWTH_MB, f"API grew {memory.growth_mb:.1f} MB"
    assert bytes_written(api.pid) - written < MIB
    assert _stored(services) == []
    assert services.client.get("/health").status_code == 200  # /health needs no key


def test_upload_is_written_once_inside_data_dir_never_the_temp_dir(services_factory, tmp_path):
    services = _api(services_factory, tmp_path)
    api = services.start_api_as_make_run()
    size = 96 * MIB
    seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:  # what the storage directory holds while the body arrives
        while not stop.wait(0.005):
            seen.update(_stored(services))

    watcher = threading.Thread(target=watch, daemon=True)
    written = bytes_written(api.pid)
    body, _length = _video_body(size)
    with PeakSampler(api.pid) as memory:
        watcher.start()
        try:
            response = _post(services, body, None, API_KEY)  # chunked: no length to trust
        finally:
            stop.set()
            watcher.join()
    assert response.status == 200, response.body
    job_id = response.json()["job_id"]
    assert any(name.startswith(".upload-") and name.endswith(".part") for name in seen)
    assert _stored(services) == [f"{job_id}.mp4"]
    stored = services.data_dir / "video_jobs" / f"{job_id}.mp4"
    assert stored.stat().st_size == len(valid_mp4_head()) + 16 + size
    copies = (bytes_written(api.pid) - written) / size
    assert 0.99 < copies < 1.1, f"the API wrote {copies:.2f} times the upload"
    assert list(_temp_dir(services).iterdir()) == []
    assert memory.growth_mb < GROWTH_MB, f"API grew {memory.growth_mb:.1f} MB"
    assert services.job_row(job_id).frames_total == 25  # the declared count


def test_long_pipeline_id_and_callback_url_are_refused_without_an_echo(services_factory, tmp_path):
    services = _api(services_factory, tmp_path)
    services.start_api_as_make_run()
    head = valid_mp4_head() + b"\x00\x00\x00\x08mdat"
    key = {"X-API-Key": API_KEY}
    files = {"file": ("clip.mp4", head, "video/mp4")}
    cases = [
        ({"pipeline_id": "m" * MIB}, {}, 413, "pipeline_id"),
        ({}, {"pipeline_id": "m" * 4000}, 400, "pipeline_id is 4000 characters"),
        ({"callback_url": "https://example.com/" + "a" * 900_000}, {}, 413, "callback_url"),
        ({"callback_url": "https://example.com/" + "a" * 3000}, {}, 400, "callback_url is"),
    ]
    for data, params, status, words in cases:
        response = services.client.post(
            "/video/submit", files=files, data=data, params=params, headers=key
        )
        assert response.status_code == status, response.text[:300]
        assert words in response.json()["detail"]
        assert len(response.content) < 512  # never the value itself
    assert _stored(services) == []
    assert services.client.get("/video/jobs", headers=key).json()["jobs"] == []


def test_full_disk_is_507_and_a_full_temp_dir_does_not_matter(services_factory, tmp_path):
    services = _api(services_factory, tmp_path)
    with tmpfs(services.data_dir, 48), tmpfs(_temp_dir(services), 1) as temp:
        (temp / "filler").write_bytes(bytes(1024 * 1024 - 4096))
        with pytest.raises(OSError), open(temp / "more", "wb") as more:
            more.write(bytes(1024 * 1024))  # the temp dir is now really full
        api = services.start_api_as_make_run()
        try:
            small, small_length = _video_body(8 * MIB)
            accepted = _post(services, small, small_length, API_KEY)
            assert accepted.status == 200, accepted.body  # the temp dir plays no part
            body, _length = _video_body(64 * MIB)
            with PeakSampler(api.pid) as memory:
                full = _post(services, body, None, API_KEY)
            assert full.status == 507, full.body
            assert "disk is full" in full.json()["detail"]
            assert _stored(services) == [f"{accepted.json()['job_id']}.mp4"]
            assert memory.growth_mb < GROWTH_MB
            declared, length = _video_body(64 * MIB)
            early = _post(services, declared, length, API_KEY)
            assert early.status == 507  # Content-Length over the free space: not read
            assert early.sent < 16 * MIB
        finally:
            services.close()


def test_min_free_bytes_is_checked_while_the_upload_is_written(services_factory, tmp_path):
    services = _api(services_factory, tmp_path, min_free_bytes=40 * MIB)
    with tmpfs(services.data_dir, 96):
        services.start_api_as_make_run()
        try:
            body, _length = _video_body(80 * MIB)
            response = _post(services, body, None, API_KEY)
            assert response.status == 507, response.body
            assert "low on disk space" in response.json()["detail"]
            assert _stored(services) == []
            fits, length = _video_body(16 * MIB)
            assert _post(services, fits, length, API_KEY).status == 200
        finally:
            services.close()
