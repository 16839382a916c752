"""The web page on what a new user meets: warnings on a completed job, a phone-width
window, a URL per job's results, the API's default pipeline, track lanes with gaps,
and jobs far longer than the page fetches (200,000 frames, 49,753 shots).

The long and gappy jobs are served to the page by Playwright routes (the page cannot
tell them from the API's answers), so their shape is exact and no worker runs for them.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from app.tests.fixtures.av_clips import write_h264
from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.worker.test_web_page import SCREENSHOTS, browser, open_page, screenshot

pytestmark = pytest.mark.worker
__all__ = ["browser"]  # the fixture, used here
RESULTS_READY = "() => document.querySelector('#plot polyline') !== null"
# Everything drawn and every picture in: what a screenshot should show.
ALL_SHOWN = """() => document.querySelector('#timeline rect.shot') !== null
    && [...document.querySelectorAll('#thumbs img')].every((i) => i.complete && i.naturalWidth)"""


def new_page(browser, url: str, width: int = 1100):
    return open_page(browser, url, width=width, timeout_ms=60_000)


def completed(services, clip: Path, pipeline: str) -> str:
    job_id = services.submit(clip, pipeline)
    assert services.wait_for(job_id)["status"] == "completed"
    return job_id


def test_warnings_bookmarks_default_pipeline_and_a_400_px_window(
    services_factory, browser, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    noisy = write_h264(tmp_path / "noisy.mp4", [40 * i for i in range(100)], noise=True)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(noisy.read_bytes()[: noisy.stat().st_size // 2])
    warned = completed(services, truncated, "quality")
    clean = completed(services, make_moving_box_mp4(tmp_path / "box.mp4", count=30), "motion")
    base = f"http://127.0.0.1:{services.api_port}/"

    page = new_page(browser, base)
    assert page.input_value("#pipeline-select") == "motion"  # the API's default, not "faces"
    page.wait_for_selector(f'#jobs tr[data-job-id="{warned}"] .warning-badge')
    badge = page.locator(f'#jobs tr[data-job-id="{warned}"] .warning-badge')
    warnings = services.status(warned)["warnings"]
    assert badge.inner_text() == f"\u26a0 {len(warnings)} warnings" and len(warnings) == 2
    assert badge.get_attribute("title") == "\n".join(warnings)
    assert page.locator(f'#jobs tr[data-job-id="{clean}"] .warning-badge').count() == 0
    assert page.locator("#jobs button.cancel").count() == 0  # nothing left to cancel

    page.click(f'#jobs tr[data-job-id="{warned}"] a.results-link')
    page.wait_for_function(RESULTS_READY)
    assert urlparse(page.url).fragment == f"job={warned}"
    assert "2 warnings" in page.inner_text("#results-title .warning-badge")
    assert "truncated" in page.inner_text("#results-warnings")
    assert "quality.csv" in page.inner_text("#downloads")
    page.wait_for_function(ALL_SHOWN)
    screenshot(page, tmp_path, "web-page-warnings.png")

    shared = new_page(browser, f"{base}#job={clean}")  # a bookmarked or shared link
    shared.wait_for_function(RESULTS_READY)
    assert shared.inner_text("#results-title").startswith("box.mp4")
    assert shared.locator("#results-title .warning-badge").count() == 0
    shared.click(f'#jobs tr[data-job-id="{warned}"] a.results-link')  # another one
    shared.wait_for_function("() => document.querySelector('#results-warnings li') !== null")

    phone = new_page(browser, f"{base}#job={warned}", width=400)
    phone.wait_for_function(RESULTS_READY)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scroll
    for link in phone.locator("#jobs a.results-link").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 400
    phone.wait_for_function(ALL_SHOWN)
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, tmp_path, "web-page-400px.png")
    assert page.errors == [] and shared.errors == [] and phone.errors == []


def fake_results(frames: int, seen: dict[int, set[int]], fps: float = 25.0):
    """Items of a results document: a motion ratio, and track `id` boxed on `seen[id]`."""

    def item(i: int) -> dict:
        detections = [
            {"label": "face", "bbox": [10, 10, 20, 20], "confidence": 0.9, "track_id": t}
            for t, where in seen.items()
            if i in where
        ]
        ratio = (i % 97) / 97
        return {
            "frame_index": i,
            "timestamp_ms": round(i * 1000 / fps),
            "result": {"motion_ratio": ratio, "detections": detections},
        }

    return item


def serve_fake_job(page, frames: int, shots: int, seen: dict[int, set[int]]) -> tuple[str, list]:
    """Route one completed job's status, results pages and summary; returns its id and
    the results requests the page made."""
    job_id = str(uuid.uuid4())
    item = fake_results(frames, seen)
    requests: list[dict] = []
    video = {
        "fps": 25.0,
        "frame_count": frames,
        "width": 640,
        "height": 360,
        "duration_s": frames / 25.0,
    }
    status = {
        "job_id": job_id,
        "status": "completed",
        "pipeline_id": "motion",
        "created_at": "2026-01-01T00:00:00+00:00",
        "frames_done": frames,
        "frames_total": frames,
        "warnings": [],
        "options": {},
        "filename": "long.mp4",
    }

    def results(route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(route.request.url).query).items()}
        requests.append(query)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", frames))
        end = min(offset + limit, frames)
        body = {
            "job_id": job_id,
            "pipeline_id": "motion",
            "video": video,
            "warnings": [],
            "results": [item(i) for i in range(offset, end)],
            "offset": offset,
            "limit": limit,
            "next_offset": end if end < frames else None,
        }
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    step = frames * 40 // shots
    summary = {
        "job_id": job_id,
        "video": video,
        "warnings": [],
        "labels": [],
        "shots": [
            {
                "index": s,
                "start_frame": s * step // 40,
                "end_frame": s * step // 40,
                "start_ms": s * step,
                "end_ms": s * step,
            }
            for s in range(shots)
        ],
        "tracks": [
            {
                "track_id": t,
                "label": "face",
                "first_frame": min(where),
                "last_frame": max(where),
                "start_ms": 40 * min(where),
                "end_ms": 40 * max(where),
                "frames": len(where),
                "max_confidence": 0.9,
                "best_frame": min(where),
                "best_bbox": [10, 10, 20, 20],
            }
            for t, where in seen.items()
        ],
    }
    page.route(
        re.compile(rf".*/video/status/{job_id}$"),
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(status)
        ),
    )
    page.route(re.compile(rf".*/video/results/{job_id}\?.*"), results)
    page.route(
        re.compile(rf".*/video/jobs/{job_id}/summary$"),
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(summary)
        ),
    )
    return job_id, requests


def test_a_200000_frame_job_with_49753_shots_is_drawn_from_bounded_pages(services_factory, browser):
    services = services_factory()
    services.start_api()
    page = new_page(browser, f"http://127.0.0.1:{services.api_port}/")
    job_id, requests = serve_fake_job(page, 200_000, 49_753, {1: set(range(1000, 90_000))})
    page.evaluate(f"location.hash = 'job={job_id}'")
    page.wait_for_function(RESULTS_READY)
    page.wait_for_selector("#timeline rect.shot")

    assert page.errors == []  # no "Maximum call stack size exceeded"
    assert requests and all(int(r["limit"]) <= 5000 for r in requests)
    assert len(requests) <= 4  # never the whole document, never every page
    assert "200000 frames analysed" in page.inner_text("#results-summary")
    points = page.eval_on_selector_all(
        "#plot polyline", "ls => ls.map(l => l.getAttribute('points').split(' ').length)"
    )
    assert len(points) == 4 and max(points) <= 2 * 800
    shots = page.eval_on_selector_all("#timeline rect.shot", "r => r.map(x => +x.dataset.shots)")
    assert len(shots) <= 800 and sum(shots) == 49_753
    assert page.locator("#timeline line.cut").count() <= 800


def test_track_lanes_show_where_the_track_was_seen(services_factory, browser, tmp_path):
    services = services_factory()
    services.start_api()
    page = new_page(browser, f"http://127.0.0.1:{services.api_port}/")
    # Track 4 is boxed on 21 of 46 frames: 0-9, then 30-40; track 5 on every one.
    seen = {4: set(range(0, 10)) | set(range(30, 41)), 5: set(range(46))}
    job_id, _ = serve_fake_job(page, 46, 1, seen)
    page.evaluate(f"location.hash = 'job={job_id}'")
    page.wait_for_selector("#timeline rect.track")
    runs = page.eval_on_selector_all(
        "#timeline rect.track",
        "r => r.map(x => [x.dataset.track, +x.getAttribute('x'), +x.getAttribute('width')])",
    )
    gappy = [run for run in runs if run[0] == "4"]
    solid = [run for run in runs if run[0] == "5"]
    assert len(gappy) == 2 and len(solid) == 1
    (_, x1, w1), (_, x2, _) = gappy
    assert x2 > x1 + w1 + 50  # the 20 unseen frames are a visible gap
    assert page.locator("#timeline rect.track-extent").count() == 2
    if SCREENSHOTS:
        page.locator("#timeline").screenshot(path=str(Path(SCREENSHOTS) / "web-track-gaps.png"))
    assert page.errors == []
