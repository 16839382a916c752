"""The tracker's appearance cue: colour histograms keep crossing walkers apart."""

from __future__ import annotations

import numpy as np
import pytest

from app.adapters.pipeline import appearance as look
from app.adapters.pipeline.tracking import Tracker
from app.domain.detections import Detection

pytestmark = pytest.mark.unit

SIZE = (320, 160)  # width, height
RED, BLUE = (30, 30, 220), (220, 60, 30)  # BGR shirts
FRAME_MS = 100


def scene(walkers: list[tuple[int, tuple[int, int, int]]]) -> np.ndarray:
    """A grey street with each walker a 30x70 box of its colour at x (y = 60)."""
    image = np.full((SIZE[1], SIZE[0], 3), 128, np.uint8)
    for x, colour in walkers:
        image[60:130, x : x + 30] = colour
        image[95:130, x : x + 30] = (40, 40, 40)  # dark trousers, the same on both
    return image


def box(x: int) -> list[int]:
    return [x, 60, 30, 70]


def bouncing() -> list[tuple[np.ndarray, list[Detection]]]:
    """Red walks right, blue walks left; they meet where the detector sees neither (three
    frames with no detection), then each turns back the way it came. Motion alone
    predicts each to carry on, so it hands each the other's id."""
    paths: list[tuple[int, int] | None] = [(40 + 15 * i, 250 - 15 * i) for i in range(6)]
    paths += [None] * 3  # hidden where they meet
    paths += [(130 - 15 * i, 160 + 15 * i) for i in range(6)]  # back the way they came
    frames: list[tuple[np.ndarray, list[Detection]]] = []
    for step in paths:
        if step is None:
            frames.append((scene([]), []))
            continue
        red, blue = step
        walkers = [Detection("person", box(red), 0.9), Detection("person", box(blue), 0.9)]
        frames.append((scene([(red, RED), (blue, BLUE)]), walkers))
    return frames


def ids_by_colour(appearance: bool) -> tuple[set[int], set[int]]:
    tracker = Tracker(appearance=appearance, hold_missed=False)
    red_ids: set[int] = set()
    blue_ids: set[int] = set()
    for index, (image, detections) in enumerate(bouncing()):
        tracker.update(detections, index * FRAME_MS, SIZE, image)
        if detections:  # built red first, blue second in every frame
            red_ids.add(int(detections[0].track_id or 0))
            blue_ids.add(int(detections[1].track_id or 0))
    return red_ids, blue_ids


def test_crossing_walkers_of_different_colours_keep_their_ids():
    red_ids, blue_ids = ids_by_colour(appearance=True)
    assert len(red_ids) == 1 and len(blue_ids) == 1
    assert red_ids != blue_ids


def test_without_the_cue_motion_alone_swaps_them():
    """The scene is hard for motion: this is what the cue is there for."""
    red_ids, blue_ids = ids_by_colour(appearance=False)
    assert red_ids & blue_ids or len(red_ids) > 1 or len(blue_ids) > 1


def test_same_colours_are_similar_and_different_ones_are_not():
    image = scene([(40, RED), (200, BLUE)])
    red, blue = look.describe(image, box(40)), look.describe(image, box(200))
    moved = look.describe(scene([(90, RED)]), box(90))
    assert look.similarity(red, moved) == pytest.approx(1.0, abs=0.05)
    assert (look.similarity(red, blue) or 0) < look.VETO_SIMILARITY


def test_a_box_too_small_or_outside_the_image_has_no_feature():
    image = scene([])
    assert look.describe(image, [10, 10, 5, 40]) is None
    assert look.describe(image, [400, 10, 30, 70]) is None
    assert look.describe(None, box(40)) is None
    assert look.similarity(None, look.describe(image, box(40))) is None


def test_the_track_feature_changes_slowly():
    """One frame of someone else in the box does not replace what the track looks like."""
    track = look.Appearance()
    red = look.describe(scene([(40, RED)]), box(40))
    blue = look.describe(scene([(40, BLUE)]), box(40))
    for _ in range(5):
        track.add(red)
    track.add(blue)
    assert (track.similarity(red) or 0) > (track.similarity(blue) or 0)


def test_unknown_appearance_leaves_the_motion_score_alone():
    scores = np.array([[0.6, 0.1]])
    weighed = look.weigh(scores, np.array([[np.nan, 0.9]]), minimum=0.2)
    assert weighed[0, 0] == pytest.approx(0.6)
    assert weighed[0, 1] == 0.0  # below the motion minimum: appearance cannot pair it


def test_the_setting_turns_the_cue_on_in_the_jobs_tracker():
    from app.adapters.pipeline.tracking import TrackingStage, tracking_stages
    from app.domain.options import AnalysisOptions
    from app.settings import Settings

    for value in (True, False):
        settings = Settings(tracker_appearance=value)
        stages = tracking_stages(
            "people", AnalysisOptions(), appearance=settings.tracker_appearance
        )
        tracker = next(s for s in stages if isinstance(s, TrackingStage)).tracker
        assert tracker.appearance is value


def test_the_composition_root_passes_the_setting_on(tmp_path):
    from app.bootstrap import build_runner
    from app.settings import Settings

    runner = build_runner(Settings(data_dir=tmp_path, tracker_appearance=True))
    assert runner.stages.keywords["appearance"] is True


@pytest.mark.parametrize("appearance", [True, False])
def test_a_code_with_other_text_never_continues_a_track(appearance):
    """Code A leaves; code B, which looks the same to a colour histogram, appears where
    A was within the tracker's gap: B is another object, with another id."""
    tracker = Tracker(appearance=appearance, hold_missed=False)
    image = np.full((SIZE[1], SIZE[0], 3), 255, np.uint8)
    image[60:100, 100:140] = 0  # a black and white patch, as every QR code is
    ids: dict[str, set[int]] = {"A": set(), "B": set()}
    for index in range(8):
        text = "A" if index < 4 else "B"
        found = [Detection("qr_code", [100 + index, 60, 40, 40], 0.9, text=text)]
        tracker.update(found, index * FRAME_MS, SIZE, image)
        ids[text].add(int(found[0].track_id or 0))
    assert len(ids["A"]) == 1 and len(ids["B"]) == 1
    assert ids["A"] != ids["B"]
