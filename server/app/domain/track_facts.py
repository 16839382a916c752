"""What each track was over its whole life: the facts a job's finishing pass needs.

Per-frame results are written as frames are analysed, before anyone knows whether a
track is an object or a flicker, or which label its object really has. So the results
writer keeps this small table while the loop runs (a few numbers per track, never per
frame: memory is flat in the video's length) and, after the last frame, one finishing
pass rewrites every detection from it (`finishing.py`).

How to use it (the results writer does the first and last steps for every job):

1. `observe(frame)` for each frame, after the filters (it sees what the results hold);
2. after the last frame, anything that knows more about tracks says so, e.g.
   `set_person_id(track_id, person_id)` (faces grouped into persons across shots; a
   FrameStage returns them from `person_ids()` and the job run calls this);
3. `settle()` once: decides each track's life-long label, whether it is confirmed,
   and which confirmed tracks are the same individual;
4. `rewrite(detection_dict)` per stored detection (label, `confirmed`, `person_id`),
   `tracks()` / `get(track_id)` / `individuals()` for the summary.

A track is confirmed (`ConfirmationRule`) when it has enough hits (detections a model
made, not boxes carried between detection runs or held by the tracker), enough summed
score over those hits, and lasts long enough; in a shot shorter than the rule asks
(a photo, a short clip, a sampled job) the shot's own span and frame count cap what is
asked, so a short shot can still hold a confirmed track.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.domain.detections import Detection, box_iou
from app.domain.frames import Frame

# Two tracks of different labels whose boxes overlap this much in a frame are taken as
# one object seen as two things at once (a per-label tracker gives a rabbit a "dog"
# and a "cat" track side by side); the weaker one is folded into the stronger.
SAME_OBJECT_IOU = 0.5

# Labels whose detector runs on a few frames by design (OCR reads a shot once, then at
# most once a second where the picture changed, and already drops weak lines): one
# reading is the evidence there is, so they need one hit and no minimum life.
READ_SPARSELY = frozenset({"text"})


@dataclass(frozen=True)
class ConfirmationRule:
    """When a track counts as an object; and when two tracks are one individual."""

    min_hits: int = 3
    min_score: float = 1.5  # summed confidence of the hits
    min_duration_ms: int = 300
    join_gap_ms: int = 1000  # a track that starts this soon after another ended...
    join_distance: float = 1.0  # ...this many box diagonals from where it was heading


@dataclass(slots=True)
class TrackFact:
    """One track's life, as the finishing pass and the summary need it."""

    track_id: int
    shot: int
    first_frame: int
    start_ms: int
    last_frame: int = 0
    end_ms: int = 0
    hits: int = 0
    score: float = 0.0  # summed confidence of the hits
    votes: dict[str, float] = field(default_factory=dict)  # label -> summed confidence
    first_box: list[int] = field(default_factory=list)
    last_box: list[int] = field(default_factory=list)
    last_hit_ms: int = -1
    last_hit_frame: int = -1  # the last frame it was measured in (not carried or held)
    _hit_box: list[int] = field(default_factory=list)  # the last hit's box
    velocity: tuple[float, float] = (0.0, 0.0)  # of the box centre, px / ms
    person_id: int | None = None
    # Decided by settle():
    label: str = ""
    confirmed: bool = False
    same_as: int | None = None  # folded into this track (one object, two labels)
    individual: int = 0  # the first track id of the individual it belongs to

    def _observe(self, detection: Detection, index: int, timestamp_ms: int) -> None:
        self.last_frame, self.end_ms = index, timestamp_ms
        self.last_box = list(detection.bbox)
        if not self.first_box:
            self.first_box = list(detection.bbox)
        if detection.carried or detection.tracked:
            return
        self.votes[detection.label] = self.votes.get(detection.label, 0.0) + detection.confidence
        self.hits += 1
        self.score += detection.confidence
        if self.last_hit_ms >= 0 and timestamp_ms > self.last_hit_ms and self._hit_box:
            dt = timestamp_ms - self.last_hit_ms
            (px, py), (cx, cy) = _centre(self._hit_box), _centre(detection.bbox)
            vx, vy = (cx - px) / dt, (cy - py) / dt
            self.velocity = (0.5 * vx + 0.5 * self.velocity[0], 0.5 * vy + 0.5 * self.velocity[1])
        self._hit_box = list(detection.bbox)
        self.last_hit_ms, self.last_hit_frame = timestamp_ms, index

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def vote(self) -> str:
        """The label with the most summed confidence (ties: alphabetical, so stable)."""
        if not self.votes:
            return self.label
        return min(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass(slots=True)
class _Shot:
    index: int
    first_frame: int
    start_ms: int
    frames: int = 0
    end_ms: int = 0


class TrackFacts:
    """The job's per-track table (see the module docstring for the order of calls)."""

    def __init__(self, rule: ConfirmationRule | None = None) -> None:
        self.rule = rule or ConfirmationRule()
        self._tracks: dict[int, TrackFact] = {}
        self._shots: list[_Shot] = []
        self._shot_starts: list[int] = []  # first frame of each shot, for shot_at()
        self._overlaps: dict[tuple[int, int], int] = {}  # frames two tracks overlapped
        self.settled = False

    # -- during the loop -----------------------------------------------------------
    def observe(self, frame: Frame) -> None:
        if not self._shots or self._shots[-1].index != frame.shot:
            self._shots.append(_Shot(frame.shot, frame.index, frame.timestamp_ms))
            self._shot_starts.append(frame.index)
        shot = self._shots[-1]
        shot.frames += 1
        shot.end_ms = frame.timestamp_ms
        hits: list[Detection] = []
        for detection in frame.detections or ():
            track_id = detection.track_id
            if track_id is None:
                continue
            fact = self._tracks.get(track_id)
            if fact is None:
                fact = TrackFact(track_id, frame.shot, frame.index, frame.timestamp_ms)
                fact.label = detection.label
                self._tracks[track_id] = fact
            fact._observe(detection, frame.index, frame.timestamp_ms)
            if not (detection.carried or detection.tracked):
                hits.append(detection)
        self._note_overlaps(hits)

    def _note_overlaps(self, hits: list[Detection]) -> None:
        for i, a in enumerate(hits):
            for b in hits[i + 1 :]:
                ids = (a.track_id or 0, b.track_id or 0)
                if a.label == b.label or ids[0] == ids[1]:
                    continue  # one label per tracker: only other labels can double up
                if box_iou(a.bbox, b.bbox) >= SAME_OBJECT_IOU:
                    pair = (min(ids), max(ids))
                    self._overlaps[pair] = self._overlaps.get(pair, 0) + 1

    # -- after the loop ------------------------------------------------------------
    def set_person_id(self, track_id: int, person_id: int) -> None:
        """The person (>= 1) a face track shows, the same across the whole video; tracks
        with one person id count as one individual. Call before settle()."""
        fact = self._tracks.get(track_id)
        if fact is not None:
            fact.person_id = int(person_id)

    def settle(self) -> None:
        """Life-long labels, confirmation, one label per object, then individuals."""
        if self.settled:
            return
        self.settled = True
        for fact in self._tracks.values():
            fact.label = fact.vote()
        self._fold_same_objects()
        for fact in self._tracks.values():
            fact.confirmed = fact.same_as is None and self._passes(fact)
        self._join_individuals()

    def _passes(self, fact: TrackFact) -> bool:
        rule = self.rule
        shot = self._shot_of(fact)
        span = shot.end_ms - shot.start_ms if shot else fact.duration_ms
        frames = shot.frames if shot else fact.hits
        hits_needed = max(1, min(rule.min_hits, frames))
        duration_needed = min(rule.min_duration_ms, span)
        if fact.label in READ_SPARSELY:
            hits_needed, duration_needed = 1, 0
        score_needed = rule.min_score * hits_needed / max(rule.min_hits, 1)
        return (
            fact.hits >= hits_needed
            and fact.score >= score_needed - 1e-9
            and fact.duration_ms >= duration_needed
        )

    def _fold_same_objects(self) -> None:
        """Where two tracks of different labels were one box in most of the weaker's
        hits, the weaker's votes go to the stronger and the weaker is not reported."""
        for (a, b), together in sorted(self._overlaps.items(), key=lambda kv: -kv[1]):
            first, second = self._tracks.get(a), self._tracks.get(b)
            if first is None or second is None or first.same_as or second.same_as:
                continue
            strong, weak = (first, second) if first.score >= second.score else (second, first)
            if together * 2 < max(weak.hits, 1):
                continue
            weak.same_as = strong.track_id
            for label, votes in weak.votes.items():
                strong.votes[label] = strong.votes.get(label, 0.0) + votes
            strong.label = strong.vote()

    def _join_individuals(self) -> None:
        """A confirmed track that starts soon after another of the same label ended, in
        the same shot, near where that one was heading, is the same individual (the
        tracker lost it for longer than it can bridge). Faces with a person id count
        by person instead."""
        for fact in self._tracks.values():
            fact.individual = fact.track_id
        rule = self.rule
        by_label: dict[str, list[TrackFact]] = {}
        for fact in self.tracks():
            by_label.setdefault(fact.label, []).append(fact)
        for facts in by_label.values():
            facts.sort(key=lambda f: (f.start_ms, f.track_id))
            taken: set[int] = set()  # tracks that already have a successor
            for later in facts:
                best: tuple[float, TrackFact] | None = None
                for earlier in facts:
                    gap = later.start_ms - earlier.end_ms
                    if earlier is later or earlier.track_id in taken or earlier.shot != later.shot:
                        continue
                    if not 0 < gap <= rule.join_gap_ms:
                        continue
                    distance = _heading_distance(earlier, later, gap)
                    if distance <= rule.join_distance and (best is None or distance < best[0]):
                        best = (distance, earlier)
                if best is not None:
                    taken.add(best[1].track_id)
                    later.individual = best[1].individual

    # -- reading the table -----------------------------------------------------------
    def get(self, track_id: int) -> TrackFact | None:
        return self._tracks.get(track_id)

    def tracks(self, confirmed_only: bool = True) -> Iterator[TrackFact]:
        """The tracks in id order (confirmed ones only unless asked)."""
        for track_id in sorted(self._tracks):
            fact = self._tracks[track_id]
            if fact.confirmed or not confirmed_only:
                yield fact

    def individuals(self) -> dict[str, int]:
        """Per label, the distinct individuals among confirmed tracks: joined tracks
        count once, and tracks of one person id count once."""
        seen: dict[str, set[tuple[str, int]]] = {}
        for fact in self.tracks():
            key = ("person", fact.person_id) if fact.person_id else ("track", fact.individual)
            seen.setdefault(fact.label, set()).add(key)
        return {label: len(keys) for label, keys in seen.items()}

    def is_reported(self, track_id: int | None) -> bool:
        """Whether a detection with this track id goes to the summary, CSV and VTT
        (detections without a track are not judged here)."""
        if track_id is None:
            return True
        fact = self._tracks.get(track_id)
        return fact is None or fact.confirmed

    def shot_at(self, frame_index: int) -> int:
        """The shot a frame belonged to (frames come in index order within a job)."""
        position = bisect.bisect_right(self._shot_starts, frame_index) - 1
        return self._shots[max(position, 0)].index if self._shots else 0

    def rewrite(self, detection: dict[str, Any]) -> dict[str, Any]:
        """A stored detection as the finished results hold it: its track's life-long
        label, `"confirmed": false` for a track that is not an object (kept out of the
        summary and exports), and the person id if one is known."""
        track_id = detection.get("track_id")
        fact = self._tracks.get(track_id) if isinstance(track_id, int) else None
        if fact is None:
            return detection
        out = dict(detection)
        out["label"] = fact.label
        if not fact.confirmed:
            out["confirmed"] = False
        if fact.person_id is not None:
            out["person_id"] = fact.person_id
        return out

    def _shot_of(self, fact: TrackFact) -> _Shot | None:
        position = bisect.bisect_right(self._shot_starts, fact.first_frame) - 1
        return self._shots[position] if position >= 0 else None


def _centre(box: Iterable[int]) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def _heading_distance(earlier: TrackFact, later: TrackFact, gap_ms: int) -> float:
    """How far (in the earlier track's box diagonals) the later track starts from where
    the earlier one would be after `gap_ms`, moving as it did; inf for boxes of very
    different sizes (not the same object at the same distance)."""
    ew, eh = earlier.last_box[2:]
    lw, lh = later.first_box[2:]
    ratio = (lw * lh) / max(ew * eh, 1)
    if not 0.5 <= ratio <= 2.0:
        return math.inf
    cx, cy = _centre(earlier.last_box)
    px, py = cx + earlier.velocity[0] * gap_ms, cy + earlier.velocity[1] * gap_ms
    nx, ny = _centre(later.first_box)
    return math.hypot(nx - px, ny - py) / max(math.hypot(ew, eh), 1.0)
