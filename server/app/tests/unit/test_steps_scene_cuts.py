"""Scene-cut step on in-memory shots built from distinct stills, never static."""

from __future__ import annotations

import numpy as np
import pytest

from app.adapters.pipeline.steps.scene_cuts import SceneCutStep
from app.tests.unit.scenes import scene_stills, shot, shots_clip
from app.tests.unit.step_checks import assert_plain_json, run_step

pytestmark = pytest.mark.unit


def run(frames: list[np.ndarray], step: SceneCutStep | None = None) -> list[dict]:
    step = step or SceneCutStep()
    results = []
    for index, frame in enumerate(frames):
        result = run_step(step, frame, index)
        assert_plain_json(result)
        assert set(result) == {"scene_cut", "score"}
        assert type(result["scene_cut"]) is bool and 0.0 <= result["score"] <= 1.0
        results.append(result)
    return results


def cut_frames(results: list[dict]) -> list[int]:
    return [i for i, r in enumerate(results) if r["scene_cut"]]


def test_cuts_are_reported_exactly_on_the_first_frame_of_each_shot():
    frames, cuts = shots_clip([9, 7, 12, 6, 8, 10, 7, 9])
    results = run(frames)
    assert cut_frames(results) == cuts
    assert results[0] == {"scene_cut": False, "score": 0.0}


def test_scores_at_cuts_stand_well_above_scores_within_shots():
    frames, cuts = shots_clip([8, 8, 8, 8])
    scores = [r["score"] for r in run(frames)]
    within = [s for i, s in enumerate(scores) if i not in cuts]
    assert min(scores[i] for i in cuts) > 2 * max(within)


@pytest.mark.parametrize("variation", ["drift", "object", "pan"])
def test_one_long_varying_shot_has_no_cut(variation):
    frames = shot(scene_stills()[3], 40, variation, np.random.default_rng(2))
    assert cut_frames(run(frames)) == []


def test_a_shot_shorter_than_min_shot_frames_is_not_a_new_cut():
    stills = scene_stills()
    rng = np.random.default_rng(3)
    frames = shot(stills[0], 6, "drift", rng) + shot(stills[1], 1, "drift", rng)
    frames += shot(stills[2], 6, "drift", rng)
    assert cut_frames(run(frames, SceneCutStep(min_shot_frames=3))) == [6]
    assert cut_frames(run(frames, SceneCutStep(min_shot_frames=1))) == [6, 7]


def test_grey_frames_are_compared_too():
    stills = scene_stills()
    grey_a = np.repeat(stills[6][..., :1], 3, axis=2)  # cameraman, grey
    grey_b = np.repeat(255 - stills[6][..., :1], 3, axis=2)  # its negative
    rng = np.random.default_rng(4)
    frames = shot(grey_a, 5, "object", rng) + shot(grey_b, 5, "object", rng)
    assert cut_frames(run(frames)) == [5]


def test_each_instance_starts_its_own_video():
    frames, _ = shots_clip([5, 5])
    step = SceneCutStep()
    run(frames, step)
    assert run(frames[7:8]) == [{"scene_cut": False, "score": 0.0}]


@pytest.mark.parametrize(
    "options", [{"threshold": 0}, {"threshold": 1.5}, {"bins": [8, 8]}, {"window": 0}, {"x": 1}]
)
def test_bad_options_are_refused(options):
    with pytest.raises((TypeError, ValueError)):
        SceneCutStep(**options)


def test_a_small_cut_in_a_quiet_video_is_found_and_a_fixed_line_misses_it():
    # two dim shots of similar colours: the change is small in absolute terms but far
    # above the frame-to-frame noise of either shot
    rng = np.random.default_rng(5)
    base = np.full((90, 120, 3), (40, 50, 60), np.uint8)
    other = base.copy()
    other[:, 90:] = (60, 50, 40)  # a quarter of the picture changes colour
    frames = [
        np.clip(base + rng.integers(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(10)
    ]
    frames += [
        np.clip(other + rng.integers(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(10)
    ]
    results = run(frames)
    assert cut_frames(results) == [10]
    assert results[10]["score"] < 0.5  # the old absolute rule could not have cut here
    assert cut_frames(run(frames, SceneCutStep(rule="absolute"))) == []


def test_a_busy_shot_with_large_scores_throughout_does_not_cut_on_every_frame():
    rng = np.random.default_rng(6)
    frames = [rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(30)]
    results = run(frames)
    assert min(r["score"] for r in results[1:]) > 0.1  # every frame differs a lot
    assert len(cut_frames(results)) <= 1  # only the first comparison has no neighbours


@pytest.mark.parametrize("options", [{"rule": "x"}, {"ratio": 1.0}, {"min_score": 1.0}])
def test_bad_adaptive_options_are_refused(options):
    with pytest.raises(ValueError):
        SceneCutStep(**options)
