"""Hard cuts: a frame-to-frame change that stands far above its recent neighbours.

Each frame gets a joint hue/saturation/value histogram of a small copy (hue is put in
one bin for nearly grey pixels, where it is only noise). `score` is the Bhattacharyya
distance between consecutive histograms: 0 for the same colours, 1 for none in common.

A cut is an outlier relative to its own video, as in PySceneDetect's AdaptiveDetector:
the score divided by the mean score of the `window` frames before it must reach `ratio`
(3.0, AdaptiveDetector's default adaptive_threshold). Real footage shows why no fixed
line works: a cycling clip's cuts score 0.18 to 0.60 against 0.02 to 0.07 within its
shots, so a fixed 0.5 missed four of five, while a busy shot's frames may all score
more than a quiet video's cuts. Two guards keep the ratio meaningful:

- `min_score` (0.1): a ratio over a near-zero mean (a still shot) means nothing; a cut
  must change the colour distribution more than consecutive frames of one moving shot
  usually do (0.02-0.07 measured on real clips);
- `min_shot_frames` (3): no cut within that many frames of the previous one (a flash
  or a glitch is not a shot).

The rule is causal (it looks only at past frames): each frame's result is final when
written, where AdaptiveDetector also waits for the frames after. The price is that a
sudden whip pan can read as a cut; a gradual one cannot, since its scores rise with
the mean.

Gradual transitions are one shot change, not several cuts. A fade dims (or brightens)
the picture over a dozen frames; each step changes the histogram as much as a cut, so
the ratio alone found a cut at a fade's start, midway and at its black frame. Two cheap
statistics of the same small copy (`frame_look`) tell them apart:

- a black or nearly uniform frame ("blank", `black_max_mean`, `uniform_max_std`) is a
  shot change only when it follows a picture: a fade or cut to black is one boundary,
  at its first black frame; the black frames after it, and the first picture after
  them (a fade in or a cut in from black), are not;
- a frame whose grey layout still correlates with the previous one's (`fade_min_corr`,
  0.9) while its brightness and contrast move together (by `fade_min_step` grey levels
  or more) is a fade step, not a cut, however much its histogram moved. A hard cut
  between unrelated pictures correlates at 0.2 or less on real clips; a cut between two
  views of one camera (0.96 measured) keeps its brightness, so it stays a cut.

A cross-dissolve is reported where the ratio sees it, at its first mixed frame (the
first that shows the new shot), and its later frames rise with the mean. `rule:
"absolute"` keeps the old rule (score >= `threshold`, default 0.5, and
a robust outlier over the window) for comparison; docs/accuracy.md measures both.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from app.adapters.pipeline.frame_look import BlankRule, layout_kept, look_at
from app.adapters.pipeline.steps.base import FrameStep, downscale
from app.domain.frames import Frame, FrameLook

_MAD_TO_SIGMA = 1.4826


class SceneCutStep(FrameStep):
    """Options: `rule` "adaptive" (default) or "absolute"; `ratio`, `min_score` (adaptive);
    `threshold`, `sensitivity` (absolute); `window` recent scores compared with,
    `min_shot_frames`, `max_width` (working width), `bins` (hue, saturation, value);
    `black_max_mean`, `uniform_max_std` (a blank frame), `fade_min_corr`,
    `fade_min_step` (a fade step)."""

    name = "scene_cuts"

    def __init__(
        self,
        rule: str = "adaptive",
        ratio: float = 3.0,
        min_score: float = 0.1,
        threshold: float = 0.5,
        sensitivity: float = 5.0,
        window: int | None = None,
        min_shot_frames: int = 3,
        max_width: int = 160,
        bins: list[int] | tuple[int, int, int] = (16, 4, 8),
        black_max_mean: float = BlankRule.max_mean,
        uniform_max_std: float = BlankRule.max_std,
        fade_min_corr: float = 0.9,
        fade_min_step: float = 2.0,
    ) -> None:
        if rule not in ("adaptive", "absolute"):
            raise ValueError("rule must be 'adaptive' or 'absolute'")
        if not 0.0 < float(threshold) < 1.0 or not 0.0 <= float(min_score) < 1.0:
            raise ValueError("threshold must be in (0, 1) and min_score in [0, 1)")
        if float(ratio) <= 1.0:
            raise ValueError("ratio must be above 1")
        if len(bins) != 3 or min(int(b) for b in bins) < 1:
            raise ValueError("bins needs three positive counts: hue, saturation, value")
        window = (8 if rule == "adaptive" else 24) if window is None else int(window)
        if window < 1 or int(min_shot_frames) < 1:
            raise ValueError("window and min_shot_frames must be at least 1")
        if not 0.0 < float(fade_min_corr) <= 1.0 or float(fade_min_step) < 0.0:
            raise ValueError("fade_min_corr must be in (0, 1] and fade_min_step at least 0")
        self.blank_rule = BlankRule(float(black_max_mean), float(uniform_max_std))
        self.fade_min_corr, self.fade_min_step = float(fade_min_corr), float(fade_min_step)
        # The last frame's look (the shots stage reads it) and layout thumbnail.
        self.look: FrameLook | None = None
        self._thumb: np.ndarray | None = None
        self._into_black = False  # a picture went blank and no boundary was given yet
        self.rule = rule
        self.ratio, self.min_score = float(ratio), float(min_score)
        self.threshold, self.sensitivity = float(threshold), float(sensitivity)
        self.max_width = int(max_width)
        self.min_shot_frames = int(min_shot_frames)
        self.bins = [int(b) for b in bins]
        self._grey_saturation = 256 // self.bins[1]
        self._recent: deque[float] = deque(maxlen=window)
        self._previous: np.ndarray | None = None
        self._since_cut = -1  # frame 0 starts the first shot

    def histogram(self, frame: np.ndarray) -> np.ndarray:
        small, _ = downscale(frame, self.max_width, cv2.INTER_LINEAR)
        return self._histogram(small)

    def _histogram(self, small: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hue = hsv[..., 0]
        hue[hsv[..., 1] < self._grey_saturation] = 0
        return cv2.calcHist([hsv], [0, 1, 2], None, self.bins, [0, 180, 0, 256, 0, 256])

    def stands_out(self, score: float) -> bool:
        """Adaptive: `ratio` times the recent mean. Absolute: above `threshold` and a
        robust outlier (median + `sensitivity` * 1.4826 * MAD) of the recent scores."""
        if self.rule == "adaptive":
            if score < self.min_score:
                return False
            return not self._recent or score >= self.ratio * float(np.mean(self._recent))
        if score < self.threshold:
            return False
        if not self._recent:
            return True
        recent = np.fromiter(self._recent, dtype=np.float64)
        median = float(np.median(recent))
        spread = _MAD_TO_SIGMA * float(np.median(np.abs(recent - median)))
        return score > median + self.sensitivity * spread

    def fades(
        self, before: FrameLook, after: FrameLook, thumbs: tuple[np.ndarray, np.ndarray]
    ) -> bool:
        """A fade step: the layout kept while brightness and contrast move together."""
        step, spread = after.mean - before.mean, after.std - before.std
        return (
            abs(step) >= self.fade_min_step
            and step * spread > 0
            and layout_kept(thumbs[0], thumbs[1], self.fade_min_corr)
        )

    def process(self, frame: Frame) -> None:
        image, result = frame.image, frame.result
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        small, _ = downscale(image, self.max_width, cv2.INTER_LINEAR)
        histogram = self._histogram(small)
        look, thumb = look_at(small, self.blank_rule)
        previous, self._previous = self._previous, histogram
        before, self.look = self.look, look
        before_thumb, self._thumb = self._thumb, thumb
        self._since_cut += 1
        if before is None or before_thumb is None or previous is None:
            result["scene_cut"], result["score"] = False, 0.0
            return
        thumbs = (before_thumb, thumb)
        score = float(cv2.compareHist(previous, histogram, cv2.HISTCMP_BHATTACHARYYA))
        score = min(max(score, 0.0), 1.0) if np.isfinite(score) else 0.0
        settled = self._since_cut >= self.min_shot_frames
        if look.blank:
            # Into black: one boundary, once the picture is gone (a fade's last dim
            # frames are fade steps; a cut to black is not one).
            self._into_black = self._into_black or not before.blank
            cut = settled and self._into_black and not self.fades(before, look, thumbs)
            self._into_black = self._into_black and not cut
        elif before.blank:
            # Out of black: the black started the new shot, unless a fade never quite
            # reached it (then the new shot's first picture does).
            cut, self._into_black = settled and self._into_black, False
        elif settled and self.stands_out(score):
            # (a fade step is kept out of the recent window, like a cut)
            cut = not self.fades(before, look, thumbs)
        else:
            cut = False
            self._recent.append(score)
        if cut:
            self._since_cut = 0
        result["scene_cut"] = bool(cut)
        result["score"] = round(score, 4)
