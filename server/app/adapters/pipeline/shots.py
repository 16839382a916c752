"""Shot boundaries on every job, whatever its pipeline (contract "Tracks, shots and
summaries": a track never spans a shot cut, and the summary lists the shots).

There is one scoring rule for cuts in the project: the `scene_cuts` step's (a colour
histogram of a small copy of the frame; a cut is a score far above its recent
neighbours, as PySceneDetect's AdaptiveDetector does). This stage reuses that step on a
scratch result, so a job of any pipeline finds the cuts the `scene_cuts` pipeline would
report; when the pipeline already ran the step, its `scene_cut` key is read instead.
The stage adds nothing to the result: it sets `frame.shot`, the number of the shot the
frame belongs to (from 0), which the tracker and the summary read, and `frame.look`, the
small copy's grey statistics (black segments, keyframes), measured by the same step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2

from app.adapters.pipeline.frame_look import BlankRule, look_at
from app.adapters.pipeline.steps.base import downscale
from app.adapters.pipeline.steps.scene_cuts import SceneCutStep
from app.domain.frames import Frame, FrameStage


class ShotStage(FrameStage):
    def __init__(
        self, detector: Callable[..., Any] = SceneCutStep, blank: BlankRule | None = None
    ) -> None:
        self._make_detector = detector
        self._detector: Any = None
        self._shot = -1
        self.blank = blank or BlankRule()

    def process(self, frame: Frame) -> None:
        cut = frame.result.get("scene_cut")
        if cut is None:
            if self._detector is None:
                self._detector = self._make_detector(
                    black_max_mean=self.blank.max_mean, uniform_max_std=self.blank.max_std
                )
            scratch: dict[str, Any] = {}
            self._detector.process(Frame(frame.index, frame.timestamp_ms, frame.image, scratch))
            cut = scratch.get("scene_cut", False)
            frame.look = getattr(self._detector, "look", None)
        elif frame.image is not None:  # the pipeline's own step cut: measure the look here
            frame.look = look_at(downscale(frame.image, 160, cv2.INTER_LINEAR)[0], self.blank)[0]
        if cut or self._shot < 0:
            self._shot += 1
        frame.shot = self._shot
