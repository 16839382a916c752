"""How a split job is merged: its segments' results become the parent's, as if unsplit.

Each segment job wrote its own results, summary and exports under its own id, with
absolute frame numbers and times. The merge, run once every segment has completed:

1. finds each seam (segment_seams.py): the frames two neighbours both analysed, and
   which later track continues which earlier one (Hungarian on IoU);
2. streams the segments' `.jsonl` in order, each frame taken once: the overlap's frames
   from the earlier segment, the later segment's from the frame after (a fixed rule);
   every track id is renamed to the whole video's (a stitched track keeps its earlier
   id; other ids are numbered on in the order tracks first appear, so ids are unique
   over the video) and each frame gets the whole video's shot number
   (segment_shots.py: each cut once);
3. feeds those frames, as the frame loop would, to the parent's finishing pass
   (finishing.py: each stitched track's label and confirmation decided over its whole
   life, its segments' verdicts dropped) and to the parent's export sinks, which write
   the results, summary, detections.csv, tracks.vtt, chapters.vtt, quality.csv and
   events.csv exactly as for an unsplit job: atomically at close, all removed on error.

Memory stays flat in the video's length: items are read line by line, a seam reads its
overlap's few seconds through the `.idx`, and what is kept per track is the finishing
pass's few numbers. Faces' persons are re-grouped where a stitched track links two
segments' persons (union-find); two segments' persons never seen in one track stay two.

Re-running the merge on the same segments writes byte-identical results, summary and
CSV/VTT files: every choice above depends only on the stored segment files.

Pictures: the merge decodes no video (frames come with `image` None). The shots'
keyframes and the black runs are the segments' own, which each took while it decoded
(segment_pictures.py), handed to the sinks before they close (`pictures_given`): the
pictures sink copies the keyframe files under the parent's id, and the contact sheet
is built from those. The annotated video is redrawn from the upload by its own
end-of-job pass, as for an unsplit job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

from app.domain.detections import Detection
from app.domain.finishing import FinishingWriter
from app.domain.frames import Frame, FrameSink, abort_sinks, close_sinks
from app.domain.job_runs import SinkFactory
from app.domain.model import Job
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService, VideoAnalysis
from app.domain.results_writer import ResultsWriter
from app.domain.segment_files import SegmentFiles
from app.domain.segment_pictures import SegmentPictures
from app.domain.segment_seams import Seam, find_seam
from app.domain.segment_shots import SegmentShots
from app.domain.track_facts import ConfirmationRule, TrackFacts

log = logging.getLogger(__name__)

# Written by each segment's finishing pass; decided again over the stitched track.
_SEGMENT_VERDICTS = ("confirmed", "person_id")


def merge_segments(
    parent: Job,
    segments: Sequence[Job],
    *,
    storage: StorageService,
    export_sinks: SinkFactory | None,
    confirmation: ConfirmationRule | None,
    overlap_s: float,
) -> VideoAnalysis:
    """Write the parent's results, summary and exports from its completed segments and
    return what the parent's completion records; raises (and leaves no parent file) on
    any error. `overlap_s` is what the fan-out asked for: only logged, since the
    overlap actually analysed is read from the segments' frames."""
    ordered = sorted(segments, key=_segment_order)
    files = [SegmentFiles(storage, segment.job_id) for segment in ordered]
    seams = [find_seam(earlier, later) for earlier, later in pairwise(files)]
    for number, seam in enumerate(seams):
        log.info(
            "job %s: seam %d after frame %d (%d frames overlap, asked %.1f s): %d tracks go on",
            parent.job_id, number, seam.last_kept, seam.overlap_frames, overlap_s,
            len(seam.continues),
        )  # fmt: skip
    options = AnalysisOptions.from_dict(parent.options)
    writer = ResultsWriter(storage, parent)
    facts = TrackFacts(confirmation)
    finishing = FinishingWriter(writer, facts)
    sinks: list[FrameSink] = [finishing]
    try:
        exports = export_sinks(parent, options) if export_sinks is not None else []
        finishing.after = [sink for sink in exports if sink.after_tracks]
        sinks += [sink for sink in exports if not sink.after_tracks]
        stream = MergedStream(files, seams)
        for frame in stream.frames():
            for sink in sinks:
                sink.add(frame)
        video, warnings = stream.video(), _warnings(parent, files)
        for sink in sinks + finishing.after:
            sink.pictures_given(stream.pictures)
        person_ids = stream.persons.person_ids()
        for track_id, person_id in person_ids.items():
            facts.set_person_id(track_id, person_id)
        close_sinks(sinks, video, warnings)
    except BaseException:
        abort_sinks(sinks)
        raise
    return VideoAnalysis(video, warnings, frames_analysed=stream.frames_out, person_ids=person_ids)


def _segment_order(job: Job) -> tuple[float, float]:
    index = getattr(job, "segment_index", None)
    start = float((job.options or {}).get("start_s") or 0.0)
    return (float(index) if index is not None else start, start)


def _warnings(parent: Job, files: Sequence[SegmentFiles]) -> list[str]:
    """The parent's own warnings, then each distinct segment warning once, in order."""
    out = list(parent.warnings or [])
    for segment in files:
        for warning in segment.head().get("warnings") or ():
            if warning not in out:
                out.append(warning)
    return out


class MergedStream:
    """The segments' frames in order, each once, with whole-video track and shot ids."""

    def __init__(self, files: Sequence[SegmentFiles], seams: Sequence[Seam]) -> None:
        self.files, self.seams = list(files), list(seams)
        self.frames_out = 0
        self.persons = PersonGroups()
        self.pictures = SegmentPictures()
        self._next_id = 1

    def frames(self) -> Iterator[Frame]:
        previous: dict[int, int] = {}  # the earlier segment's track id -> whole video's
        shots: SegmentShots | None = None
        for number, segment in enumerate(self.files):
            seam = self.seams[number - 1] if number else None
            segment_shots, black = segment.summary_lists()
            if shots is None or seam is None:
                shots = SegmentShots(segment_shots)
                start = 0
            else:
                shots = shots.followed_by(segment_shots, seam.last_kept)
                start = segment.position_of(seam.last_kept + 1)
            after = seam.last_kept if seam is not None else None
            up_to = self.seams[number].last_kept if number < len(self.seams) else None
            self.pictures.add_segment(segment.job_id, segment_shots, black, shots, (after, up_to))
            continues = seam.continues if seam is not None else {}
            ids = {b: previous[a] for b, a in continues.items() if a in previous}
            for item in segment.items(start):
                yield self._frame(item, number, ids, shots)
            previous = ids

    def _frame(
        self, item: dict[str, Any], segment: int, ids: dict[int, int], shots: SegmentShots
    ) -> Frame:
        index = item["frame_index"]
        result = item["result"]
        rest = {key: value for key, value in result.items() if key != "detections"}
        frame = Frame(index, item["timestamp_ms"], None, rest, shot=shots.at(index))
        found = result.get("detections")
        if found is not None:
            frame.detections = [self._detection(d, segment, ids) for d in found]
        self.frames_out += 1
        return frame

    def _detection(self, stored: dict[str, Any], segment: int, ids: dict[int, int]) -> Detection:
        data = {key: value for key, value in stored.items() if key not in _SEGMENT_VERDICTS}
        local = data.get("track_id")
        if isinstance(local, int):
            if local not in ids:
                ids[local] = self._next_id
                self._next_id += 1
            data["track_id"] = ids[local]
            if isinstance(person := stored.get("person_id"), int):
                self.persons.link(ids[local], segment, person)
        return Detection.from_dict(data)

    def video(self) -> dict[str, Any]:
        """The results' `video` object, as an unsplit run's: the frames decoded from the
        first segment's start to the last one's end (the last segment's own count, from
        its first frame on), and the duration they make."""
        last = self.files[-1]
        video = dict(last.head().get("video") or {})
        first_of_last, first_of_video = last.first_index(), self.files[0].first_index()
        if first_of_last is not None and first_of_video is not None:
            decoded = int(video.get("frame_count") or 0) + first_of_last - first_of_video
            video["frame_count"] = decoded
            fps = video.get("fps") or 0
            video["duration_s"] = round(decoded / fps, 6) if fps else 0.0
        return video


class PersonGroups:
    """Persons over the whole video: one segment's person and a stitched track that
    shows it are one group (union-find over a few entries per face track)."""

    def __init__(self) -> None:
        self._parent: dict[tuple[str, int, int], tuple[str, int, int]] = {}

    def _root(self, key: tuple[str, int, int]) -> tuple[str, int, int]:
        self._parent.setdefault(key, key)
        while self._parent[key] != key:
            self._parent[key] = self._parent[self._parent[key]]
            key = self._parent[key]
        return key

    def link(self, track_id: int, segment: int, person: int) -> None:
        a, b = self._root(("track", track_id, 0)), self._root(("person", segment, person))
        if a != b:
            self._parent[max(a, b)] = min(a, b)

    def person_ids(self) -> dict[int, int]:
        """Whole-video track id -> person id, numbered in the order persons first appear
        (track ids are numbered in that order too)."""
        numbers: dict[tuple[str, int, int], int] = {}
        out: dict[int, int] = {}
        tracks = sorted(key[1] for key in self._parent if key[0] == "track")
        for track_id in tracks:
            root = self._root(("track", track_id, 0))
            out[track_id] = numbers.setdefault(root, len(numbers) + 1)
        return out
