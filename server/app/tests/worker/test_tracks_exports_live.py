"""Summary and exports through the real API and worker: a two-shot clip with a face,
submitted with annotate=true; the annotated video opened by ffprobe, OpenCV and, when
Chromium is installed, played and seeked by a real <video> element."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.adapters.exports.detections_csv import HEADER
from app.tests.fixtures.videos import write_mp4
from app.tests.integration.test_tracks_exports import FIRST_SHOT, two_shot_frames
from app.tests.worker.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.worker

SUMMARY_KEYS = {
    "job_id",
    "video",
    "warnings",
    "shots",
    "labels",
    "tracks",
    "texts",
    "persons",
    "black_segments",
}


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mp4(tmp_path_factory.mktemp("faces") / "two_shots.mp4", two_shot_frames(), 25.0)


def submit(services, clip: Path, **fields: str) -> str:
    with open(clip, "rb") as handle:
        response = services.client.post(
            "/video/submit", files={"file": (clip.name, handle, "video/mp4")}, data=fields
        )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def ffprobe(path: Path, *args: str) -> dict:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(probe.stdout)


def test_annotated_job_has_summary_csv_vtt_and_a_playable_h264_video(
    services_factory, face_clip: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = submit(services, face_clip, pipeline_id="faces", annotate="true")
    plain_id = submit(services, face_clip, pipeline_id="faces")
    assert services.wait_for(job_id)["status"] == "completed"
    client = services.client

    summary = client.get(f"/video/jobs/{job_id}/summary").json()
    assert set(summary) == SUMMARY_KEYS and summary["job_id"] == job_id
    assert [s["start_frame"] for s in summary["shots"]] == [0, FIRST_SHOT]
    face = max(summary["tracks"], key=lambda t: t["frames"])
    assert face["label"] == "face" and face["frames"] >= 0.8 * FIRST_SHOT
    assert face["last_frame"] < FIRST_SHOT

    results = services.results(job_id)["results"]
    detections = [d for item in results for d in item["result"].get("detections", [])]
    assert detections and all(isinstance(d["track_id"], int) for d in detections)

    response = client.get(f"/video/jobs/{job_id}/detections.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == HEADER and len(rows) - 1 == len(detections)
    by_frame = {item["frame_index"]: item["timestamp_ms"] for item in results}
    assert all(int(row[1]) == by_frame[int(row[0])] for row in rows[1:])

    vtt = client.get(f"/video/jobs/{job_id}/tracks.vtt")
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
    assert vtt.text.count(" --> ") == len(summary["tracks"])
    assert f"face #{face['track_id']}" in vtt.text

    video = client.get(f"/video/jobs/{job_id}/annotated.mp4")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    path = tmp_path / "annotated.mp4"
    path.write_bytes(video.content)
    part = client.get(f"/video/jobs/{job_id}/annotated.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == video.content[:100]
    capture = cv2.VideoCapture(str(path))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == len(results)
    if shutil.which("ffprobe"):
        (stream,) = ffprobe(path, "-show_entries", "stream=codec_name,pix_fmt")["streams"]
        assert stream == {"codec_name": "h264", "pix_fmt": "yuv420p"}

    assert services.wait_for(plain_id)["status"] == "completed"
    missing = client.get(f"/video/jobs/{plain_id}/annotated.mp4")
    assert missing.status_code == 404 and "annotate=true" in missing.json()["detail"]
    assert client.get(f"/video/jobs/{plain_id}/summary").status_code == 200

    if CHROMIUM.exists():
        played = play_in_chromium(services.client.base_url, job_id)
        assert played["error"] is None, played
        assert (played["width"], played["height"]) == (480, 360)
        assert played["seeked"] and played["cues"] == len(summary["tracks"])


VIDEO_PAGE = """<!doctype html><video id=v muted preload=auto
  src="/video/jobs/{job_id}/annotated.mp4"><track default kind=metadata
  src="/video/jobs/{job_id}/tracks.vtt"></video>"""

PLAY = """async () => {
  const v = document.getElementById('v');
  const settle = (events) => new Promise((ok) => {
    for (const e of events) v.addEventListener(e, () => ok(e), {once: true});
  });
  if (v.readyState < 2) await settle(['loadeddata', 'error']);
  if (v.error) return {error: v.error.code};
  await v.play();
  v.pause();
  const seeked = settle(['seeked', 'error']);
  v.currentTime = v.duration / 2;
  const how = await seeked;
  const track = v.textTracks[0];
  track.mode = 'hidden';
  for (let i = 0; i < 50 && !(track.cues && track.cues.length); i++)
    await new Promise((ok) => setTimeout(ok, 100));
  return {error: v.error && v.error.code, width: v.videoWidth, height: v.videoHeight,
          seeked: how === 'seeked', cues: track.cues ? track.cues.length : 0};
}"""


def play_in_chromium(base_url, job_id: str) -> dict:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            # Same origin as the API, so the page needs no CORS to read the files.
            page.route(
                f"{base_url}/play",
                lambda route: route.fulfill(
                    content_type="text/html", body=VIDEO_PAGE.format(job_id=job_id)
                ),
            )
            page.goto(f"{base_url}/play")
            return page.evaluate(PLAY)
        finally:
            browser.close()


def write_vfr_mp4(path: Path, times_ms: list[int]) -> Path:
    """An H.264 clip whose frames sit at irregular times (dropped frames, as a phone's)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for i, ms in enumerate(times_ms):
            image = np.full((120, 160, 3), (i * 9) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_timestamps_shots_and_csv_follow_ffprobe_on_a_variable_frame_rate_clip(
    services_factory, tmp_path: Path
):
    times = [0, 33, 67, 100, 250, 283, 317, 600, 633, 1000, 1033, 1067, 1500]
    clip = write_vfr_mp4(tmp_path / "vfr.mp4", times)
    probe = ffprobe(clip, "-select_streams", "v:0", "-show_frames", "-show_streams")
    start = float(probe["streams"][0].get("start_time") or 0)
    expected = [
        round((float(f["best_effort_timestamp_time"]) - start) * 1000) for f in probe["frames"]
    ]
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = submit(services, clip, pipeline_id="quality")
    assert services.wait_for(job_id)["status"] == "completed"
    got = [item["timestamp_ms"] for item in services.results(job_id)["results"]]
    assert len(got) == len(expected)
    assert all(abs(a - b) <= 1 for a, b in zip(got, expected, strict=True)), (got, expected)
    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    assert summary["shots"][0]["start_ms"] == got[0]
    assert summary["shots"][-1]["end_ms"] == got[-1]
