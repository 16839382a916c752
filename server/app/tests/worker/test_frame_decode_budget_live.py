"""Frame images of a video whose header lies about its keyframes, against the real API
and worker: the decode budget counts the frames really decoded, not what `stss` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.tests.fixtures.av_clips import hide_keyframe_table, write_h264

pytestmark = pytest.mark.worker

BUDGET = 40


@pytest.fixture
def lying_clip(tmp_path: Path) -> Path:
    """200 frames with a single keyframe (frame 0), its keyframe table hidden."""
    clip = write_h264(
        tmp_path / "one-keyframe.mp4", [33 * i for i in range(200)], keyframe_interval=1000
    )
    return hide_keyframe_table(clip)


def test_a_header_that_claims_every_frame_is_a_keyframe_cannot_buy_a_long_decode(
    services_factory, lying_clip
):
    services = services_factory(frame_decode_budget=BUDGET)
    services.start_api()
    services.start_worker()
    job_id = services.submit(lying_clip, "quality")
    assert services.wait_for(job_id)["status"] == "completed"
    url = f"/video/jobs/{job_id}/frames/{{n}}.jpg"

    near = services.client.get(url.format(n=BUDGET // 2))
    assert near.status_code == 200, near.text
    assert near.headers["content-type"] == "image/jpeg"

    # The header says frame 150 is a keyframe; the decoder finds it is 150 frames past one.
    far = services.client.get(url.format(n=150))
    assert far.status_code == 422, far.text
    detail = far.json()["detail"]
    assert f"VIDEO_JOBS_FRAME_DECODE_BUDGET={BUDGET}" in detail
    assert "not reached" in detail

    assert services.client.get("/health").status_code == 200
