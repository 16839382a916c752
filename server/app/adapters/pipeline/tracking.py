"""Multi-object tracking: give each detection a `track_id` that follows one object.

A compact ByteTrack-style tracker (Zhang et al. 2022, github.com/ifzhang/ByteTrack),
numpy only. Why not a library: norfair pins numpy < 2 (the lock has numpy 2), and
supervision pulls scipy, matplotlib, pillow, requests and tqdm for one class that counts
gaps in frames, not milliseconds, and matches across labels. What we keep of ByteTrack:

- weak detections are kept, not dropped: a weak box that overlaps a track strongly
  (IoU >= 0.4; a confident one needs 0.2) continues it, so an object whose score dips
  keeps its id. Unlike ByteTrack, confident boxes are not matched first: with the
  small detectors here a confident part-of-object box (a zebra's legs) would take the
  track from the weaker whole-object box; best overlap first avoids that;
- matching on IoU against each track's box *predicted* at this frame's time by a
  constant velocity of its centre (smoothed), so a moving object keeps its id even when
  sampling leaves large steps between frames; greedy, best first, per label; then, for
  what is still unpaired, nearness of centres between boxes of similar size.

What is ours: time comes from `timestamp_ms`, so a gap of up to `max_gap_ms` (1 s, the
contract's brief occlusion) keeps the id at any frame rate or sampling; every detection
left in the frame has an id (a confident unmatched one starts a track; ids are never
reused within a job); `end_all()` ends every track at a shot cut. A detection the step
only repeated from an earlier frame (`"carried": true`, detection every few frames) is
not a new measurement: it takes its track's predicted box and is marked `"tracked":
true`; one that continues no track (the step repeated a box from before a shot cut,
where every track ended) is stale and is removed from the frame's detections.

Two rules for what a frame shows, as trackers that report objects rather than raw
detections do (SORT's `min_hits`, Norfair's hit counter):
- a weak box (below `high_score`) that continues no track starts a tentative track and
  is shown from its second sighting on: a lone weak box is most often a false alarm;
- a confirmed track that one detection run missed is shown at its predicted box (marked
  carried and tracked) until the next run, so one miss does not blank an object for
  every frame up to the next run; two misses in a row hide it (its id is kept through
  `max_gap_ms`). The time between runs is observed, not configured: the shortest gap
  between frames holding a fresh (not carried) detection.

Three options, measured with identity metrics in `make eval` (tools/evalkit/identity.py)
and off by default because they did not beat the above there: `assignment="hungarian"`
(the pairing of largest total score, scipy), `refind_last_seen` (OC-SORT's
observation-centric recovery against a track's last observed box) and the stage's
`compensate_camera` (BoT-SORT's camera-motion compensation, about 2-3 ms per frame).

On by default in jobs (`tracking_stages`, VIDEO_JOBS_TRACKER_APPEARANCE), off in a bare
`Tracker`: the appearance cue (appearance.py, DeepSORT's / BoT-SORT's), which weighs
each motion score by how alike the box and the track look, refuses pairs that look
nothing alike, and after the motion passes re-finds a lost track by its look. Measured
on vtest's who-is-who truth (tools/evalkit/identity_real.py): IDF1 0.583 -> 0.675.

Every box leaves `update` inside the frame (boxes.py): detector boxes are clipped, and
a carried or held box, moved by its track's velocity, is clipped too, or dropped when
too little of it is still in the picture (an object walking out of view).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from app.adapters.pipeline import appearance as look
from app.adapters.pipeline.boxes import fit_box, iou_matrix
from app.adapters.pipeline.frame_look import BlankRule
from app.adapters.pipeline.models.face_signature import face_signature
from app.adapters.pipeline.persons import PersonSettings, PersonStage
from app.adapters.pipeline.shots import ShotStage
from app.adapters.pipeline.text_tracks import TEXT_LABEL, TextTracker, TextTrackStage
from app.domain.detections import Detection
from app.domain.frames import Frame, FrameStage
from app.domain.options import AnalysisOptions

# A track is found again only if its predicted box overlaps this much: ByteTrack's
# first stage (cost 1 - IoU <= 0.8) and its stricter second stage for weak boxes.
HIGH_MATCH_IOU = 0.2
LOW_MATCH_IOU = 0.4
VELOCITY_SMOOTHING = 0.5  # weight of the newest velocity estimate
# Last resort for what IoU left unmatched (large steps between sampled frames, where a
# box moved by most of its width): a box of similar size whose centre lies within
# 0.7 diagonals of the predicted one.
NEAR_MATCH = 0.3
# A weak box (below high_score) that continues no track: "report" it as a new track,
# "confirm" it first (a tentative track, reported from its second sighting, as SORT's
# min_hits), or "drop" it (ByteTrack: only a confident box starts a track).
WEAK_FIRST = ("report", "confirm", "drop")
# How one frame's boxes are paired with the tracks: "greedy" (best score first) or
# "hungarian" (the pairing with the largest total score, as SORT and ByteTrack do).
ASSIGNMENTS = ("greedy", "hungarian")


@dataclass(eq=False)
class _Track:
    track_id: int  # 0 while tentative: a weak first sighting not yet seen again
    label: str
    box: np.ndarray  # x, y, w, h at last_ms
    last_ms: int
    velocity: np.ndarray  # of the centre, pixels / ms
    confidence: float = 1.0  # of the last detection that measured it
    seen_ms: int = -1  # the last frame a detection (fresh or carried) matched it
    look: look.Appearance = field(default_factory=look.Appearance)
    text: str | None = None  # the last decoded text (a QR code's): another is another object

    def predicted(self, at_ms: int, max_ahead_ms: int) -> np.ndarray:
        """The last box moved by the centre's velocity (its size is not extrapolated:
        a detector's box sizes jitter, and a growing box would run away)."""
        ahead = min(max(at_ms - self.last_ms, 0), max_ahead_ms)
        box = self.box.copy()
        box[:2] += self.velocity * ahead
        return box

    def update(self, box: np.ndarray, at_ms: int) -> None:
        elapsed = at_ms - self.last_ms
        growth = (box[2] * box[3]) / max(self.box[2] * self.box[3], 1.0)
        # A box that changed size a lot is a partly hidden or partly found object: its
        # centre moved for that reason, not because the object did.
        if elapsed > 0 and 0.7 <= growth <= 1 / 0.7:
            measured = (_centre(box) - _centre(self.box)) / elapsed
            self.velocity = VELOCITY_SMOOTHING * measured + (1 - VELOCITY_SMOOTHING) * self.velocity
        self.box, self.last_ms = box, at_ms


def _centre(box: np.ndarray) -> np.ndarray:
    return box[:2] + box[2:] / 2


def nearness_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - centre distance / diagonal of b's box, 0 when sizes differ by over 2x."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    centre_a = a[:, None, :2] + a[:, None, 2:] / 2
    centre_b = b[None, :, :2] + b[None, :, 2:] / 2
    distance = np.linalg.norm(centre_a - centre_b, axis=2)
    diagonal = np.linalg.norm(b[:, 2:], axis=1)[None, :]
    ratio = (a[:, None, 2] * a[:, None, 3]) / np.maximum(b[None, :, 2] * b[None, :, 3], 1)
    similar = (ratio >= 0.5) & (ratio <= 2.0)
    return np.where(similar, np.clip(1 - distance / np.maximum(diagonal, 1), 0, None), 0.0)


def greedy_match(scores: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """Pairs (row, column), best score first, each row and column used once."""
    pairs: list[tuple[int, int]] = []
    if scores.size == 0:
        return pairs
    order = np.dstack(np.unravel_index(np.argsort(-scores, axis=None), scores.shape))[0]
    rows, cols = set(), set()
    for row, col in order:
        if scores[row, col] < minimum:
            break
        if row in rows or col in cols:
            continue
        rows.add(row)
        cols.add(col)
        pairs.append((int(row), int(col)))
    return pairs


def optimal_match(scores: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """Pairs (row, column) of the largest total score over pairs scoring `minimum` or
    more (Hungarian algorithm, scipy): where greedy lets one box take a track that two
    crossing objects both overlap, this gives each object the track that fits the
    whole frame best."""
    if scores.size == 0:
        return []
    allowed = np.where(scores >= minimum, scores, 0.0)
    rows, cols = linear_sum_assignment(allowed, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if scores[r, c] >= minimum]


class Tracker:
    """Assigns track ids to one frame's detections at a time (per job: fresh state)."""

    def __init__(
        self,
        max_gap_ms: int = 1000,
        high_score: float = 0.5,
        untracked: Iterable[str] = (),
        weak_first: str = "confirm",
        hold_missed: bool = True,
        assignment: str = "greedy",
        refind_last_seen: bool = False,
        appearance: bool = False,
    ) -> None:
        if weak_first not in WEAK_FIRST:
            raise ValueError(f"weak_first must be one of {WEAK_FIRST}")
        if assignment not in ASSIGNMENTS:
            raise ValueError(f"assignment must be one of {ASSIGNMENTS}")
        self._match = optimal_match if assignment == "hungarian" else greedy_match
        # OC-SORT's observation-centric recovery: what neither the predicted box nor
        # nearness paired is tried against each track's last observed box, which stays
        # right for an object that stopped while hidden (a prediction runs on).
        self.refind_last_seen = bool(refind_last_seen)
        # DeepSORT's / BoT-SORT's appearance cue (appearance.py): colour histograms
        # break ties between tracks a box overlaps alike and re-find a lost track.
        self.appearance = bool(appearance)
        self._image: np.ndarray | None = None
        self.max_gap_ms = int(max_gap_ms)
        self.high_score = float(high_score)
        self.weak_first = weak_first
        self.hold_missed = bool(hold_missed)
        self._run_ms: int | None = None  # time between detection runs, as observed
        self._last_run_ms: int | None = None
        self.untracked = frozenset(untracked)
        self._tracks: dict[str, list[_Track]] = {}
        self._next_id = 1
        self._previous_ms: int | None = None
        self._frame_size: tuple[int | None, int | None] = (None, None)

    def compensate(self, warp: np.ndarray) -> None:
        """Move every track by the camera's motion since the last frame (a 2x3 affine
        from the previous image to this one, BoT-SORT's camera-motion compensation), so
        that a pan is not mistaken for every object's own motion."""
        linear, shift = warp[:, :2], warp[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(linear)))) or 1.0
        for tracks in self._tracks.values():
            for track in tracks:
                centre = linear @ _centre(track.box) + shift
                size = track.box[2:] * scale
                track.box = np.concatenate([centre - size / 2, size])
                track.velocity = linear @ track.velocity

    def end_all(self) -> list[int]:
        """A shot cut: no track continues into the new shot. Returns the ended ids."""
        ended = sorted(t.track_id for ts in self._tracks.values() for t in ts if t.track_id)
        self._tracks.clear()
        return ended

    def update(
        self,
        detections: list[Detection],
        timestamp_ms: int,
        frame_size: tuple[int, int] | None = None,
        image: np.ndarray | None = None,
    ) -> list[int]:
        """Set `track_id` on each detection (in place) seen at `timestamp_ms`; returns
        the ids of the tracks that ended before this frame. With `frame_size` (width,
        height), every box is clipped to the frame, and boxes wholly outside it go;
        with `image` (BGR) and `appearance` on, boxes are also compared by colour."""
        self._frame_size = frame_size or (None, None)
        self._image = image if self.appearance else None
        detections[:] = [d for d in detections if self._clip(d)]
        step = 0 if self._previous_ms is None else max(timestamp_ms - self._previous_ms, 0)
        self._previous_ms = timestamp_ms
        ended: list[int] = []
        for label, tracks in self._tracks.items():
            # Unseen for longer than the allowed gap (the time between the last frame it
            # was in and this one, less one frame step): the object has gone.
            alive = [t for t in tracks if timestamp_ms - t.last_ms - step <= self.max_gap_ms]
            if len(alive) < len(tracks):
                ended += [t.track_id for t in tracks if t.track_id and t not in alive]
                self._tracks[label] = alive
        by_label: dict[str, list[Detection]] = {}
        for detection in detections:
            if detection.label not in self.untracked:
                by_label.setdefault(detection.label, []).append(detection)
        self._observe_run(by_label, timestamp_ms)
        stale: list[Detection] = []
        for label, found in by_label.items():
            stale += self._update_label(label, found, timestamp_ms)
        if stale:
            gone = {id(d) for d in stale}
            detections[:] = [d for d in detections if id(d) not in gone]
        if self.hold_missed:
            detections += self._held(timestamp_ms)
        return sorted(ended)

    def _observe_run(self, by_label: dict[str, list[Detection]], now: int) -> None:
        """The time between detection runs: the shortest gap between frames holding a
        fresh (not carried) detection. Steps that detect every n-th frame carry their
        boxes in between, so only a run's frames hold fresh ones."""
        if not any(not d.carried for found in by_label.values() for d in found):
            return
        if self._last_run_ms is not None and now > self._last_run_ms:
            gap = now - self._last_run_ms
            self._run_ms = gap if self._run_ms is None else min(self._run_ms, gap)
        self._last_run_ms = now

    def _held(self, now: int) -> list[Detection]:
        """Confirmed tracks that one detection run missed, at their predicted boxes,
        until the next run: a detector's miss on one run would otherwise blank the
        object for every frame up to the next (three frames when detecting every 3rd).
        A track missed by two runs in a row is not shown (it stays open for max_gap_ms
        to keep its id if the object comes back)."""
        if not self._run_ms:
            return []
        held = []
        for tracks in self._tracks.values():
            for track in tracks:
                missed = track.track_id and track.seen_ms != now
                if missed and now - track.last_ms < 2 * self._run_ms:
                    box = self._placed(track.predicted(now, self.max_gap_ms))
                    if box is None:
                        continue  # predicted out of the picture: not shown
                    held.append(
                        Detection(
                            track.label,
                            box,
                            track.confidence,
                            track_id=track.track_id,
                            carried=True,
                            tracked=True,
                        )
                    )
        return held

    def _update_label(self, label: str, found: list[Detection], now: int) -> list[Detection]:
        """Match `found` to this label's tracks; returns the stale carried detections."""
        tracks = self._tracks.setdefault(label, [])
        predicted = np.array(
            [t.predicted(now, self.max_gap_ms) for t in tracks], dtype=np.float64
        ).reshape(-1, 4)
        boxes = np.array([d.bbox for d in found], dtype=np.float64).reshape(-1, 4)
        free_tracks = set(range(len(tracks)))
        unmatched = set(range(len(found)))
        stale: list[Detection] = []
        # Best overlap first, whatever the score; a weak box must overlap more to
        # continue a track. Then nearness for what overlap could not pair.
        overlaps = iou_matrix(boxes, predicted)
        weak = np.array([d.confidence < self.high_score for d in found], bool)
        overlaps[weak] = np.where(overlaps[weak] >= LOW_MATCH_IOU, overlaps[weak], 0.0)
        passes = ["overlap", "nearness"] + (["last_seen"] if self.refind_last_seen else [])
        features = [None if d.carried else look.describe(self._image, d.bbox) for d in found]
        similar = np.full((len(found), len(tracks)), np.nan)
        if self._image is not None:
            similar = look.similarity_matrix(features, [t.look for t in tracks])
            passes.append("appearance")
        for kind in passes:
            rows, columns = sorted(unmatched), sorted(free_tracks)
            minimum = NEAR_MATCH if kind == "nearness" else HIGH_MATCH_IOU
            if kind == "appearance":
                confident = [r for r in rows if not weak[r]]
                rows, minimum = confident, look.REFIND_SIMILARITY
                scores = look.refind_scores(
                    boxes[rows], predicted[columns], similar[np.ix_(rows, columns)]
                )
            elif kind == "nearness":
                scores = nearness_matrix(boxes[rows], predicted[columns])
            elif kind == "last_seen":
                seen = np.array([tracks[c].box for c in columns]).reshape(-1, 4)
                scores = iou_matrix(boxes[rows], seen)
                scores[weak[rows]] = np.where(
                    scores[weak[rows]] >= LOW_MATCH_IOU, scores[weak[rows]], 0.0
                )
            else:
                scores = overlaps[np.ix_(rows, columns)]
            if self._image is not None and kind != "appearance":
                scores = look.weigh(scores, similar[np.ix_(rows, columns)], minimum)
                minimum = 1e-9
            scores = np.where(_texts_differ(found, rows, tracks, columns), 0.0, scores)
            for row, col in self._match(scores, minimum):
                free_tracks.discard(columns[col])
                unmatched.discard(rows[row])
                track = tracks[columns[col]]
                if not self._follow(
                    found[rows[row]], track, predicted[columns[col]], boxes[rows[row]], now
                ):
                    stale.append(found[rows[row]])
                track.look.add(features[rows[row]])
        for index in sorted(unmatched):
            detection = found[index]
            if detection.carried:
                stale.append(detection)  # repeats a box from before a cut: nothing follows it
                continue
            tentative = bool(weak[index]) and self.weak_first != "report"
            if tentative:
                stale.append(detection)
                if self.weak_first == "drop":
                    continue
            track = _Track(0, label, boxes[index].copy(), now, np.zeros(2))
            track.confidence, track.seen_ms = detection.confidence, now
            track.look.add(features[index])
            tracks.append(track)
            if not tentative:
                self._confirm(track, detection)
        return stale

    def _clip(self, detection: Detection) -> bool:
        """Clip a box as a step made it; False when none of it is in the frame."""
        box = fit_box(detection.bbox, *self._frame_size)
        if box is not None:
            detection.bbox = box
        return box is not None

    def _placed(self, predicted: np.ndarray) -> list[int] | None:
        """A box the tracker moved, in the frame; None when too little of it is."""
        return fit_box(predicted, *self._frame_size, carried=True)

    def new_id(self) -> int:
        """The job's next track id (the text tracker numbers its tracks from it too)."""
        self._next_id += 1
        return self._next_id - 1

    def _confirm(self, track: _Track, detection: Detection) -> None:
        if not track.track_id:
            track.track_id = self.new_id()
        detection.track_id = track.track_id

    def _follow(
        self,
        detection: Detection,
        track: _Track,
        predicted: np.ndarray,
        box: np.ndarray,
        now: int,
    ) -> bool:
        """Continue `track` with `detection`; False when the detection is not reported
        (a repeat of a tentative track's box, which nobody has seen twice yet)."""
        if detection.carried:
            if not track.track_id:
                return False
            track.seen_ms = now
            placed = self._placed(predicted)
            if placed is None:
                return False  # the track is predicted out of the picture
            detection.track_id = track.track_id
            detection.bbox = placed
            detection.tracked = True
            return True
        self._confirm(track, detection)  # a second sighting confirms a tentative track
        track.confidence, track.seen_ms = detection.confidence, now
        if detection.text is not None:
            track.text = detection.text
        track.update(box, now)
        return True


def _texts_differ(
    found: list[Detection], rows: list[int], tracks: list[_Track], columns: list[int]
) -> np.ndarray:
    """Pairs whose decoded texts are both known and differ: two QR codes of one look
    (colour histograms cannot tell them apart) are two objects whatever their boxes say."""
    differ = np.zeros((len(rows), len(columns)), dtype=bool)
    for i, row in enumerate(rows):
        text = found[row].text
        if text is None:
            continue
        for j, column in enumerate(columns):
            known = tracks[column].text
            differ[i, j] = known is not None and known != text
    return differ


class CameraMotion:
    """The global motion between consecutive frames: corners tracked by sparse optical
    flow on a small grey frame, fitted by `cv2.estimateAffinePartial2D` (RANSAC, so
    moving objects are outliers). Only the previous small frame is kept."""

    WIDTH = 320

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._scale = 1.0

    def estimate(self, image: np.ndarray, restart: bool = False) -> np.ndarray | None:
        import cv2

        self._scale = self.WIDTH / image.shape[1]
        small = cv2.resize(image, (self.WIDTH, max(round(image.shape[0] * self._scale), 1)))
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        previous, self._previous = self._previous, grey
        if previous is None or restart or previous.shape != grey.shape:
            return None
        corners = cv2.goodFeaturesToTrack(previous, 200, 0.01, 8)
        if corners is None or len(corners) < 8:
            return None
        moved, status, _err = cv2.calcOpticalFlowPyrLK(previous, grey, corners, None)  # type: ignore[call-overload]
        good = status.ravel() == 1
        if good.sum() < 8:
            return None
        warp, _inliers = cv2.estimateAffinePartial2D(corners[good], moved[good])
        if warp is None:
            return None
        warp = warp.astype(np.float64)
        warp[:, 2] /= self._scale  # the shift back in full-frame pixels
        return warp


class TrackingStage(FrameStage):
    """The tracker as a frame-loop stage, after the shots stage: a frame in a new shot
    ends every track first."""

    def __init__(self, tracker: Tracker, compensate_camera: bool = False) -> None:
        self.tracker = tracker
        self._shot: int | None = None
        self._motion = CameraMotion() if compensate_camera else None

    def process(self, frame: Frame) -> None:
        ended = []
        if frame.shot != self._shot:
            ended = self.tracker.end_all()
            self._shot = frame.shot
        # Also on frames without detections: the tracker measures gaps in frame steps.
        # A pipeline without detection steps keeps no "detections" key.
        found = frame.detections if frame.detections is not None else []
        if self._motion is not None and frame.image is not None:
            warp = self._motion.estimate(frame.image, restart=bool(ended))
            if warp is not None:
                self.tracker.compensate(warp)
        size = None if frame.image is None else (frame.image.shape[1], frame.image.shape[0])
        ended += self.tracker.update(found, frame.timestamp_ms, size, frame.image)
        frame.ended_tracks = ended


def tracking_stages(
    _pipeline_id: str,
    _options: AnalysisOptions,
    persons: PersonSettings | None = None,
    blank: BlankRule | None = None,
    appearance: bool = True,
) -> list[FrameStage]:
    """The runner's stage factory: shots on every job (`blank`: what a black frame is),
    then the tracker (motion blobs are regions, not objects: they get no track; lines of
    text get theirs from the text tracker, which shares the tracker's ids), then face
    tracks grouped into persons (nothing to do, and no model read, in a job without
    faces). `appearance`: the tracker's colour cue (VIDEO_JOBS_TRACKER_APPEARANCE)."""
    tracker = Tracker(untracked=("motion", TEXT_LABEL), appearance=appearance)
    return [
        ShotStage(blank=blank),
        TrackingStage(tracker),
        TextTrackStage(TextTracker(tracker.new_id)),
        PersonStage(face_signature, persons),
    ]
