"""The same face across shots: face tracks grouped into persons by their signatures.

The tracker ends every track at a cut, so one person seen in shot 1 and again in shot 4
has two tracks. This stage, after the tracker, signs a few good sightings of each face
track (`models/face_signature.py`: 128 numbers per face) and keeps only the signatures,
a few per track, never the images. At the end of the job `persons()` groups the tracks
by agglomerative clustering (average linkage: the distance between two groups is the
mean distance between their tracks' mean signatures) up to a distance threshold chosen
on the eval (docs/accuracy.md), and numbers the groups 1, 2, ... in the order they were
first seen.

One rule is never broken: two tracks seen in the same frame are two people, so no group
ever holds both (a face and its reflection, twins, or a wrong signature all give way to
it). A track with no signature (its face never large enough) is a person of its own.

Which sightings are signed, at most `per_track` of them: a fresh detection (not a box a
step carried or the tracker predicted) whose face is at least `min_face` pixels on its
short side; the first such sighting, then one every `spacing_ms` at most, and only when
its size times its confidence is at least 0.7 of the best so far in the track, so the
signatures spread over the track's life and skip the small and doubtful frames. The cost
is therefore bounded per track (~80 ms a signature here), not per frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from app.domain.detections import Detection
from app.domain.frames import Frame, FrameStage
from app.domain.persons import FACE_LABEL

log = logging.getLogger(__name__)

Signer = Callable[[np.ndarray, list[int]], np.ndarray]
GOOD_ENOUGH = 0.7  # share of the track's best size x confidence a sighting needs


@dataclass(frozen=True)
class PersonSettings:
    per_track: int = 3  # signatures kept per face track
    min_face: int = 40  # short side, frame pixels, of a face worth signing
    spacing_ms: int = 500  # least time between two signed sightings of a track
    max_distance: float = 0.5  # groups closer than this (mean signature distance) join
    max_tracks: int = 2000  # face tracks grouped; later ones stay persons of their own


@dataclass
class _Signed:
    signatures: list[np.ndarray] = field(default_factory=list)
    last_ms: int = 0
    best: float = 0.0


def group_tracks(
    signatures: dict[int, np.ndarray], apart: set[tuple[int, int]], max_distance: float
) -> list[list[int]]:
    """Groups of track ids (each sorted, groups ordered by their smallest id), from each
    track's mean signature: average-linkage clustering that stops at `max_distance` and
    never joins two groups holding a pair in `apart` (tracks seen in one frame)."""
    ids = sorted(signatures)
    n = len(ids)
    if n == 0:
        return []
    vectors = np.stack([signatures[i] for i in ids]).astype(np.float64)
    distance = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)
    position = {track_id: k for k, track_id in enumerate(ids)}
    blocked = np.zeros((n, n), dtype=bool)
    for a, b in apart:
        if a in position and b in position:
            blocked[position[a], position[b]] = blocked[position[b], position[a]] = True
    np.fill_diagonal(blocked, True)
    distance[blocked] = np.inf
    sizes = np.ones(n)
    members: list[list[int]] = [[track_id] for track_id in ids]
    while True:
        flat = int(np.argmin(distance))
        i, j = divmod(flat, n)
        if not distance[i, j] <= max_distance:
            break
        # Lance-Williams for average linkage: the joined group's mean distance to each
        # other group, weighted by the two parts' sizes.
        joined = (sizes[i] * distance[i] + sizes[j] * distance[j]) / (sizes[i] + sizes[j])
        blocked[i] |= blocked[j]
        blocked[:, i] = blocked[i]
        joined[blocked[i]] = np.inf
        distance[i], distance[:, i] = joined, joined
        distance[j], distance[:, j] = np.inf, np.inf
        distance[i, i] = np.inf
        sizes[i] += sizes[j]
        members[i] += members[j]
        members[j] = []
    groups = [sorted(m) for m in members if m]
    return sorted(groups, key=lambda g: g[0])


def number_persons(groups: Iterable[list[int]], unsigned: Iterable[int]) -> dict[int, int]:
    """{track_id: person_id}: every group, and every unsigned track alone, numbered from
    1 in the order of its first track id (ids grow with time, so: first seen first)."""
    everyone = [list(g) for g in groups] + [[t] for t in unsigned]
    everyone.sort(key=min)
    return {track: person for person, group in enumerate(everyone, 1) for track in group}


class PersonStage(FrameStage):
    """Signs face tracks as frames pass; `persons()` at the end of the job."""

    def __init__(self, signer: Signer, settings: PersonSettings | None = None) -> None:
        self.signer = signer
        self.settings = settings or PersonSettings()
        self._signed: dict[int, _Signed] = {}
        self._seen: set[int] = set()  # every face track id, signed or not
        self._apart: set[tuple[int, int]] = set()
        self.signatures_made = 0
        self.signing_s = 0.0  # time spent signing, for the log and the eval's cost figures
        self._overflow = False

    def process(self, frame: Frame) -> None:
        faces = [
            d for d in frame.detections or () if d.label == FACE_LABEL and d.track_id is not None
        ]
        ids = sorted({d.track_id for d in faces if d.track_id is not None})
        for k, a in enumerate(ids):
            for b in ids[k + 1 :]:
                self._apart.add((a, b))
        self._seen.update(ids)
        if frame.image is None:
            return
        for face in faces:
            self._consider(frame, face)

    def _consider(self, frame: Frame, face: Detection) -> None:
        settings, track_id = self.settings, face.track_id
        assert track_id is not None
        if face.carried or face.tracked or min(face.bbox[2:]) < settings.min_face:
            return
        signed = self._signed.get(track_id)
        if signed is None:
            if len(self._signed) >= settings.max_tracks:
                self._overflow = True
                return
            signed = self._signed[track_id] = _Signed()
        quality = face.area * face.confidence
        signed.best = max(signed.best, quality)
        if len(signed.signatures) >= settings.per_track:
            return
        if signed.signatures and frame.timestamp_ms - signed.last_ms < settings.spacing_ms:
            return
        if quality < GOOD_ENOUGH * signed.best:
            return
        started = time.perf_counter()
        signed.signatures.append(self.signer(frame.image, face.bbox))
        self.signing_s += time.perf_counter() - started
        signed.last_ms = frame.timestamp_ms
        self.signatures_made += 1

    def person_ids(self) -> dict[int, int]:
        return self.persons()

    def persons(self, max_distance: float | None = None) -> dict[int, int]:
        """{track_id: person_id} for every face track seen (grouped at the settings'
        distance, or at `max_distance`: the eval tries several on one signing)."""
        if max_distance is None:
            max_distance = self.settings.max_distance
        means = {t: np.mean(s.signatures, axis=0) for t, s in self._signed.items() if s.signatures}
        started = time.perf_counter()
        groups = group_tracks(means, self._apart, max_distance)
        person_of = number_persons(groups, sorted(self._seen - set(means)))
        if self._seen:
            log.info(
                "persons: %d face tracks, %d signatures in %.0f ms, grouped in %.0f ms into %d",
                len(self._seen),
                self.signatures_made,
                self.signing_s * 1000,
                (time.perf_counter() - started) * 1000,
                len(set(person_of.values())),
            )
        return person_of

    def warnings(self) -> list[str]:
        if not self._overflow:
            return []
        return [
            f"over {self.settings.max_tracks} face tracks: the later ones were not matched to "
            "earlier persons (VIDEO_JOBS_PERSON_MAX_TRACKS)"
        ]
