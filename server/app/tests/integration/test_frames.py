"""GET /video/jobs/{job_id}/frames/{n}.jpg over HTTP, with real files and a real worker
run in-process: a JPEG of the right size, boxes exactly where the results put them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.tests.helpers import app_state
from app.workers.worker import Worker

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def submit(client: TestClient, clip: Path, pipeline: str = "motion") -> str:
    with clip.open("rb") as handle:
        response = client.post(
            "/video/submit",
            files={"file": ("clip.mp4", handle, "video/mp4")},
            data={"pipeline_id": pipeline},
        )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def run_one_job(client: TestClient) -> None:
    state = app_state(client)
    worker = Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)
    assert worker.run_once(wait=10)


def frame(client: TestClient, job_id: str, n: int, **params) -> np.ndarray:
    response = client.get(f"/video/jobs/{job_id}/frames/{n}.jpg", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return image


def completed(client: TestClient, clip: Path, pipeline: str = "motion") -> str:
    job_id = submit(client, clip, pipeline)
    run_one_job(client)
    assert client.get(f"/video/status/{job_id}").json()["status"] == "completed"
    return job_id


@pytest.fixture
def completed_and_pending(client: TestClient, clip_path: Path) -> tuple[str, str, str]:
    """The same clip three times: completed with boxes (motion), completed without any
    (quality finds no objects), and left pending (no frame images yet)."""
    done = completed(client, clip_path)
    plain = completed(client, clip_path, "quality")
    pending = submit(client, clip_path)
    assert client.get(f"/video/status/{pending}").json()["status"] == "pending"
    return done, plain, pending


def test_frame_is_a_jpeg_of_the_video_size_or_the_asked_width(client, clip_path):
    job_id = completed(client, clip_path)
    assert frame(client, job_id, 0).shape == (240, 320, 3)  # never enlarged to 480
    assert frame(client, job_id, 29, width=160).shape == (120, 160, 3)
    assert frame(client, job_id, 5, width=100).shape == (75, 100, 3)


def test_the_frame_shown_is_frame_n_of_the_video(client, clip_path):
    job_id = completed(client, clip_path, "quality")
    capture = cv2.VideoCapture(str(clip_path))
    decoded = []
    for _ in range(30):
        ok, image = capture.read()
        assert ok
        decoded.append(image.astype(np.int16))
    capture.release()
    for n in (0, 7, 21):
        shown = frame(client, job_id, n).astype(np.int16)
        errors = [float(np.abs(shown - d).mean()) for d in decoded]
        assert int(np.argmin(errors)) == n, errors


def test_detections_are_drawn_on_their_boxes_and_nowhere_else(client, completed_and_pending):
    done, plain_job, _pending = completed_and_pending
    results = client.get(f"/video/results/{done}").json()["results"]
    n, item = next((i, r["result"]) for i, r in enumerate(results) if r["result"]["detections"])
    boxed = frame(client, done, n).astype(np.int16)
    plain = frame(client, plain_job, n).astype(np.int16)
    changed = np.abs(boxed - plain).max(axis=2) > 40
    assert changed.sum() > 50, "no box was drawn"
    near_boxes = np.zeros(changed.shape, bool)
    for detection in item["detections"]:
        x, y, w, h = detection["bbox"]
        # the outline, plus the label drawn above it
        near_boxes[max(0, y - 20) : y + h + 3, max(0, x - 3) : x + w + 120] = True
    assert not changed[~near_boxes].any(), "pixels changed away from the detections"


def test_a_frame_without_detections_is_the_plain_frame(client, completed_and_pending):
    done, plain, _pending = completed_and_pending
    results = client.get(f"/video/results/{done}").json()["results"]
    assert results[0]["result"]["detections"] == []  # motion finds nothing on frame 0
    assert np.array_equal(frame(client, done, 0), frame(client, plain, 0))


def test_unknown_job_or_frame_out_of_range_is_404(client, completed_and_pending):
    done, _plain, pending = completed_and_pending
    for job_id, n in ((str(uuid.uuid4()), 0), (done, 30), (pending, 0), (pending, 5000)):
        response = client.get(f"/video/jobs/{job_id}/frames/{n}.jpg")
        assert response.status_code == 404, (job_id, n)
        assert response.json()["detail"]
    assert "out of range" in client.get(f"/video/jobs/{done}/frames/30.jpg").json()["detail"]
    assert "pending" in client.get(f"/video/jobs/{pending}/frames/0.jpg").json()["detail"]


def test_frames_over_the_pixel_budget_are_refused_before_decoding(client, clip_path):
    job_id = completed(client, clip_path, "quality")  # done under the default limits
    app_state(client).settings.max_pixels = 320 * 240 - 1  # the clip is 320x240
    response = client.get(f"/video/jobs/{job_id}/frames/0.jpg")
    assert response.status_code == 422
    assert "VIDEO_JOBS_MAX_PIXELS" in response.json()["detail"]


def test_frames_too_far_past_their_keyframe_are_refused(settings: Settings, clip_path):
    settings.frame_decode_budget = 3  # OpenCV's writer puts keyframes far apart
    with TestClient(create_app(settings)) as client:
        job_id = completed(client, clip_path, "quality")
        assert client.get(f"/video/jobs/{job_id}/frames/3.jpg").status_code == 200
        response = client.get(f"/video/jobs/{job_id}/frames/20.jpg")
    assert response.status_code == 422
    assert "VIDEO_JOBS_FRAME_DECODE_BUDGET=3" in response.json()["detail"]


def test_a_job_whose_input_is_gone_is_404(client, clip_path, data_dir):
    job_id = completed(client, clip_path, "quality")
    (data_dir / "video_jobs" / f"{job_id}.mp4").unlink()
    response = client.get(f"/video/jobs/{job_id}/frames/0.jpg")
    assert response.status_code == 404
    assert "gone" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/frames/-1.jpg", "/frames/x.jpg", "/frames/0.jpg?width=8", "/frames/0.jpg?width=0"]
)
def test_bad_frame_index_or_width_is_422(client, clip_path, path):
    job_id = submit(client, clip_path)
    assert client.get(f"/video/jobs/{job_id}{path}").status_code == 422


def test_frames_need_the_api_key_when_set(settings: Settings, clip_path):
    settings.api_key = "k"
    with TestClient(create_app(settings), headers={"X-API-Key": "k"}) as client:
        job_id = completed(client, clip_path, "quality")
        assert client.get(f"/video/jobs/{job_id}/frames/0.jpg").status_code == 200
        anonymous = client.get(f"/v1/video/jobs/{job_id}/frames/0.jpg", headers={"X-API-Key": ""})
        assert anonymous.status_code == 401


def test_a_decode_over_its_time_budget_is_refused(settings: Settings, clip_path):
    settings.frame_decode_timeout_s = 1e-9  # spent before the first packet
    with TestClient(create_app(settings)) as client:
        job_id = completed(client, clip_path, "quality")
        response = client.get(f"/video/jobs/{job_id}/frames/2.jpg")
    assert response.status_code == 422
    assert "VIDEO_JOBS_FRAME_DECODE_TIMEOUT_S=1e-09" in response.json()["detail"]
