"""The same face across a cut is one person, through the real API and worker: the
astronaut's face on one background, a cut, the same face elsewhere on another; then a
cut to the cameraman's face. The summary lists two persons, the astronaut's with both
of her tracks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from app.tests.fixtures.videos import write_mp4
from app.tests.unit.scenes import astronaut, textured_background

pytestmark = pytest.mark.worker

WIDTH, HEIGHT = 480, 320


def _portrait(image: np.ndarray, box: tuple[int, int, int, int], side: int) -> np.ndarray:
    x, y, w, h = box
    return cv2.resize(image[y : y + h, x : x + w], (side, side), interpolation=cv2.INTER_AREA)


def _shot(background: np.ndarray, face: np.ndarray, left: int, count: int) -> list[np.ndarray]:
    frames = []
    for i in range(count):
        frame = background.copy()
        x, y = left + i, 40
        frame[y : y + face.shape[0], x : x + face.shape[1]] = face
        frames.append(frame)
    return frames


def test_one_face_in_two_shots_is_one_person_and_another_face_is_another(
    services_factory, tmp_path
):
    her = _portrait(astronaut(), (150, 20, 160, 190), 200)
    cameraman = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR)
    him = _portrait(cameraman, (170, 70, 130, 170), 200)
    first = textured_background(WIDTH, HEIGHT, seed=1)
    second = np.full((HEIGHT, WIDTH, 3), (200, 60, 20), np.uint8)  # a blue wall
    third = cv2.resize(cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR), (WIDTH, HEIGHT))
    frames = _shot(first, her, 20, 30) + _shot(second, her, 250, 30) + _shot(third, him, 140, 30)
    clip = write_mp4(tmp_path / "two_people.mp4", frames)

    services = services_factory()
    services.start_api()
    job_id = services.submit(clip, "faces")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"

    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    assert len(summary["shots"]) == 3, summary["shots"]
    faces = [t for t in summary["tracks"] if t["label"] == "face"]
    shot_starts = [s["start_frame"] for s in summary["shots"]]

    def shot_of(track: dict) -> int:
        return max(i for i, start in enumerate(shot_starts) if start <= track["first_frame"])

    by_shot = {shot_of(t): t["track_id"] for t in faces}
    assert set(by_shot) == {0, 1, 2}, faces  # a face track in each shot
    persons = summary["persons"]
    assert len(persons) == 2, persons
    person_of = {track: p["person_id"] for p in persons for track in p["tracks"]}
    assert person_of[by_shot[0]] == person_of[by_shot[1]]  # the astronaut, across the cut
    assert person_of[by_shot[2]] != person_of[by_shot[0]]  # the cameraman
    her_person = next(p for p in persons if by_shot[0] in p["tracks"])
    assert her_person["person_id"] == 1  # first seen, first numbered
    assert her_person["screen_time_ms"] > 0 and her_person["end_ms"] > her_person["start_ms"]
    assert len(her_person["best_bbox"]) == 4

    # Every face detection in the per-frame results carries its track's person id, and
    # the face label counts persons, not tracks, as individuals.
    seen = {
        (d["track_id"], d["person_id"])
        for item in services.results(job_id)["results"]
        for d in item["result"].get("detections", [])
        if d["label"] == "face" and d.get("confirmed", True)
    }
    assert seen and all(person_of[track] == person for track, person in seen), seen
    face_label = next(label for label in summary["labels"] if label["label"] == "face")
    assert face_label["individuals"] == 2 and face_label["tracks"] == 3
