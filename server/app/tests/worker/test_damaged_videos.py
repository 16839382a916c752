"""Truncated and damaged uploads through the real API and worker; what the user sees is
never a silent success, never a failure while frames can be decoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.tests.fixtures.av_clips import write_h264

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> bytes:
    """100 frames of noise at 25 fps, header first (faststart), about 950 KB."""
    path = tmp_path_factory.mktemp("noisy") / "noisy.mp4"
    return write_h264(path, [40 * i for i in range(100)], noise=True).read_bytes()


def cut_in_half(data: bytes, folder: Path) -> Path:
    path = folder / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


def damaged_in_the_middle(data: bytes, folder: Path) -> Path:
    damaged = bytearray(data)
    middle = len(damaged) // 2
    damaged[middle - 20_000 : middle + 20_000] = bytes(40_000)
    path = folder / "damaged.mp4"
    path.write_bytes(bytes(damaged))
    return path


@pytest.mark.parametrize(
    ("make", "decoded", "says"),
    [
        (cut_in_half, range(30, 70), "declares 100: the file is truncated or damaged"),
        (damaged_in_the_middle, range(80, 100), "the video is damaged"),
    ],
)
def test_a_truncated_or_damaged_upload_completes_with_warnings(
    services_factory, noisy, tmp_path, make, decoded, says
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = services.submit(make(noisy, tmp_path), "quality")
    status = services.wait_for(job_id)
    assert status["status"] == "completed", status
    assert any(says in warning for warning in status["warnings"]), status["warnings"]
    results = services.results(job_id)
    video = results["video"]
    assert video["frames_declared"] == 100 and video["frame_count"] in decoded
    assert len(results["results"]) == video["frame_count"]
    assert results["warnings"] == status["warnings"]
    assert (status["frames_done"], status["frames_total"]) == (video["frame_count"], 100)
