"""The summary's `persons`: face tracks that are one person, over the whole video.

A person is a set of face tracks (the persons stage decides which; a person's tracks
never share a frame), so its screen time is the sum of its tracks' and its best frame
is its most confident track's. Only the few numbers of each face track are kept until
the job ends (`TrackTotals`), never per-frame data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.summary import TrackTotals

FACE_LABEL = "face"


def persons_summary(
    tracks: Iterable[TrackTotals], person_of: Mapping[int, int]
) -> list[dict[str, Any]]:
    """The contract's `persons` list, ordered by person_id; tracks without a person id
    are left out."""
    grouped: dict[int, list[TrackTotals]] = {}
    for track in tracks:
        person = person_of.get(track.track_id)
        if person is not None:
            grouped.setdefault(person, []).append(track)
    persons = []
    for person_id in sorted(grouped):
        members = sorted(grouped[person_id], key=lambda t: (t.start_ms, t.track_id))
        best = max(members, key=lambda t: (t.max_confidence, -t.start_ms))
        persons.append(
            {
                "person_id": person_id,
                "tracks": [t.track_id for t in members],
                "start_ms": members[0].start_ms,
                "end_ms": max(t.end_ms for t in members),
                "screen_time_ms": sum(t.screen_time_ms for t in members),
                "best_frame": best.best_frame,
                "best_bbox": list(best.best_bbox),
            }
        )
    return persons
