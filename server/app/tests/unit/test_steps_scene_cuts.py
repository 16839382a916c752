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
    # above the frame-to-frame noise of either shot (a soft ramp: a flat field would be
    # a uniform frame, which starts no shot)
    rng = np.random.default_rng(5)
    ramp = np.linspace(0, 24, 120, dtype=np.float32)[None, :, None]
    base = (np.full((90, 120, 3), (40, 50, 60), np.float32) + ramp).astype(np.uint8)
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


def _fade(frames: list[np.ndarray], start: float, end: float) -> list[np.ndarray]:
    n = max(len(frames) - 1, 1)
    return [
        np.clip(f.astype(np.float32) * (start + (end - start) * i / n), 0, 255).astype(np.uint8)
        for i, f in enumerate(frames)
    ]


def _black(count: int, like: np.ndarray) -> list[np.ndarray]:
    return [np.zeros_like(like) for _ in range(count)]


def test_a_fade_through_black_is_one_boundary_at_its_first_black_frame():
    stills, rng = scene_stills(), np.random.default_rng(7)
    old, new = shot(stills[0], 22, "drift", rng), shot(stills[3], 22, "drift", rng)
    frames = old[:10] + _fade(old[10:], 1, 0.05) + _black(4, old[0]) + _fade(new[:12], 0.05, 1)
    frames += new[12:]
    assert cut_frames(run(frames)) == [22]


def test_a_cut_to_black_then_a_fade_in_is_one_boundary():
    stills, rng = scene_stills(), np.random.default_rng(8)
    old, new = shot(stills[1], 12, "object", rng), shot(stills[5], 20, "object", rng)
    frames = old + _black(3, old[0]) + _fade(new[:10], 0.05, 1) + new[10:]
    assert cut_frames(run(frames)) == [12]


def test_a_fade_out_then_a_cut_in_from_black_is_one_boundary():
    stills, rng = scene_stills(), np.random.default_rng(9)
    old, new = shot(stills[2], 20, "pan", rng), shot(stills[6], 12, "pan", rng)
    frames = old[:8] + _fade(old[8:], 1, 0.05) + _black(5, old[0]) + new
    assert cut_frames(run(frames)) == [20]


def test_a_cross_dissolve_is_at_most_one_boundary():
    stills, rng = scene_stills(), np.random.default_rng(10)
    old, new = shot(stills[0], 24, "drift", rng), shot(stills[3], 24, "drift", rng)
    mixed = [
        (a.astype(np.float32) * (1 - w) + b.astype(np.float32) * w).astype(np.uint8)
        for a, b, w in zip(old[12:], new[:12], np.linspace(1 / 13, 12 / 13, 12), strict=True)
    ]
    cuts = cut_frames(run(old[:12] + mixed + new[12:]))
    assert len(cuts) <= 1 and all(12 <= c < 24 for c in cuts)


def test_a_hard_cut_between_pictures_of_one_brightness_is_still_a_cut():
    # the fade test asks for brightness and contrast moving together: two different
    # pictures alike in brightness are a cut, whatever their layouts share
    stills, rng = scene_stills(), np.random.default_rng(11)
    frames = shot(stills[0], 8, "drift", rng) + shot(stills[0][:, ::-1].copy(), 8, "drift", rng)
    assert cut_frames(run(frames)) == [8]
