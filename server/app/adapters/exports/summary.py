"""`<job_id>_summary.json` and `<job_id>_tracks.vtt`, from the job's finishing pass.

Fed after the last frame (`after_tracks`), so it sees only confirmed tracks, each with
its life-long label, and each label's individuals from the settled track table.

The summary's content comes from `domain/summary.SummaryBuilder`; this sink decides how
it reaches the disk.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

from app.adapters.exports.base import ExportSink
from app.adapters.exports.csv_cells import strip_control
from app.adapters.exports.shot_pictures import ShotPicturesSink
from app.adapters.exports.zone_feed import ZoneFeed, header_size
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.model import Job, summary_key
from app.domain.options import AnalysisOptions
from app.domain.persons import FACE_LABEL, persons_summary
from app.domain.ports import StorageService
from app.domain.summary import SummaryBuilder, TrackTotals
from app.domain.text_summary import TextsBuilder
from app.domain.track_facts import TrackFacts
from app.domain.zone_events import ZoneTotals
from app.domain.zones import ZoneSpec


def vtt_time(ms: int) -> str:
    """WebVTT's `hh:mm:ss.ttt`."""
    hours, rest = divmod(max(int(ms), 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_cue(track: TrackTotals) -> str:
    """One WebVTT cue, "<label> #<track_id>" (a text track adds what it reads: "text #3:
    EXIT"), from the track's first frame to the end of its last."""
    end = max(track.covered_until_ms, track.end_ms, track.start_ms + 1)
    caption = f"{track.label} #{track.track_id}"
    if track.text:
        caption += f": {' '.join(strip_control(track.text).split())}"
    return (
        f"{track.track_id}\n{vtt_time(track.start_ms)} --> {vtt_time(end)}\n{vtt_text(caption)}\n\n"
    )


class SummarySink(ExportSink):
    """Writes `<job_id>_summary.json` and `<job_id>_tracks.vtt` as the job goes.

    Each track goes to a spool when it ends, and each shot to another, so the worker
    keeps only a few numbers per finished track; at close the tracks are copied into
    both files in the order they began (WebVTT wants cues in start order, and a reader
    of the summary wants them that way too), then the shots, the video and the labels.
    Nothing is visible under either key before then."""

    writes = ("tracks.vtt",)  # and the summary, which is not a download
    after_tracks = True  # confirmed tracks only, with their life-long labels

    def __init__(
        self,
        storage: StorageService,
        job_id: uuid.UUID,
        pictures: ShotPicturesSink | None = None,
        zones: ZoneSpec | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        # A job with `zones` also gets the summary's `lines` and `zones`.
        self._zones = zones
        self._frame_size = frame_size
        self.storage = storage
        self.job_id = job_id
        # Keyframes and black runs need the frames' pictures, which this sink (fed by the
        # end-of-job pass) never sees: the pictures sink took them during the loop.
        self.pictures = pictures if pictures is not None else ShotPicturesSink(storage, job_id)
        self._summary = storage.open_write(summary_key(job_id))
        self._vtt = storage.open_write(EXPORT_BY_NAME["tracks.vtt"].key(job_id))
        self._shots = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close or abort
        self._tracks = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close or abort
        # (start_ms, first_frame, track_id, offset, record bytes, cue bytes) per track.
        self._track_spans: list[tuple[int, int, int, int, int, int]] = []
        self._tracks_size = 0
        try:  # a full disk here: no caller holds this sink yet to abort it
            self._summary.write(b'{"job_id":' + _dumps(str(job_id)) + b',"tracks":[')
            self._vtt.write(b"WEBVTT\n\n")
        except BaseException:
            self.abort()
            raise
        self._shots_written = 0
        self.builder = SummaryBuilder(self._write_shot, self._write_track)
        self.texts = TextsBuilder()
        self._individuals: dict[str, int] | None = None
        # Face tracks' totals wait for the end of the job, when persons are known (a few
        # numbers per face track).
        self._face_tracks: list[TrackTotals] = []
        self._person_of: dict[int, int] = {}

    def _feed(self) -> ZoneFeed | None:
        if self._zones is not None and self.zone_feed is None:
            self.zone_feed = ZoneFeed(self._zones, self.zone_rules, self._frame_size)
        return self.zone_feed

    @property
    def zone_totals(self) -> ZoneTotals | None:
        """The counts as they stand (the job's feed's: the annotated video shows these)."""
        feed = self._feed()
        return feed.totals if feed is not None else None

    def tracks_settled(self, facts: TrackFacts) -> None:
        if (feed := self._feed()) is not None:
            feed.tracks_settled(facts)
        self._individuals = facts.individuals()
        self._person_of = {
            fact.track_id: fact.person_id
            for fact in facts.tracks(confirmed_only=False)
            if fact.person_id is not None
        }

    @classmethod
    def for_job(
        cls, storage: StorageService, job: Job, pictures: ShotPicturesSink | None = None
    ) -> SummarySink:
        zones = AnalysisOptions.from_dict(job.options).zone_spec()
        size = header_size(storage, job) if zones is not None else None
        return cls(storage, job.job_id, pictures, zones, size)

    def _write_shot(self, shot: dict[str, Any]) -> None:
        # Written by the pictures sink when it saw the next shot begin (it is fed before
        # this sink), or, for the last shot, by `finish()` in `close`.
        keyframe = self.pictures.keyframes.get(shot["index"])
        if keyframe is not None:
            shot = {**shot, "keyframe": keyframe}
        self._shots.write((b"," if self._shots_written else b"") + _dumps(shot))
        self._shots_written += 1

    def _write_track(self, track: TrackTotals) -> None:
        if track.label == FACE_LABEL:
            self._face_tracks.append(track)
        record, cue = _dumps(track.to_dict()), vtt_cue(track).encode()
        self._tracks.write(record + cue)
        self._track_spans.append(
            (
                track.start_ms,
                track.first_frame,
                track.track_id,
                self._tracks_size,
                len(record),
                len(cue),
            )
        )
        self._tracks_size += len(record) + len(cue)

    def _copy_tracks(self) -> None:
        """Both files' tracks from the spool, in the order the tracks began."""
        self._track_spans.sort()
        for position, (*_, offset, record_size, cue_size) in enumerate(self._track_spans):
            self._tracks.seek(offset)
            self._summary.write((b"," if position else b"") + self._tracks.read(record_size))
            self._vtt.write(self._tracks.read(cue_size))
        self._tracks.close()

    def add(self, frame: Frame) -> None:
        self.builder.add(
            frame.index, frame.timestamp_ms, frame.detections or (), frame.shot, frame.ended_tracks
        )
        self.texts.add(frame.timestamp_ms, frame.detections or ())
        if (feed := self._feed()) is not None:
            feed.events(frame)

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        black_segments = self.pictures.finish()  # and the last shot's keyframe written
        fps = video.get("fps") or 0
        self.builder.finish(round(1000 / fps) if fps else 0)
        self._copy_tracks()
        self._summary.write(b'],"shots":[')
        self._shots.seek(0)
        while chunk := self._shots.read(1 << 20):
            self._summary.write(chunk)
        self._shots.close()
        self._summary.write(b'],"black_segments":' + _dumps(black_segments))
        self._summary.write(b',"video":' + _dumps(video))
        self._summary.write(b',"warnings":' + _dumps(list(warnings)))
        self._summary.write(b',"labels":' + _dumps(self.builder.labels(self._individuals)))
        self._summary.write(b',"texts":' + _dumps(self.texts.texts()))
        persons = persons_summary(self._face_tracks, self._person_of)
        self._summary.write(b',"persons":' + _dumps(persons))
        if (feed := self._feed()) is not None:
            feed.finish()
            self._summary.write(b',"lines":' + _dumps(feed.totals.summary_lines()))
            self._summary.write(b',"zones":' + _dumps(feed.totals.summary_zones()))
        self._summary.write(b"}")
        self._vtt.commit()
        self._summary.commit()

    def abort(self) -> None:
        self._shots.close()
        self._tracks.close()
        self._summary.discard()
        self._vtt.discard()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
