"""The end-of-job pass: per-frame results rewritten once every track's fate is known.

While the loop runs, each frame's item goes to a local spool (one line per frame, as
the results' .jsonl) and its detections into the job's `TrackFacts`. At close the
facts are settled, then the spool is read back line by line (never whole) and each
detection is rewritten (its track's life-long label, `"confirmed": false` for a track
that is no object, a `person_id`) into the results writer, which writes the .jsonl,
its index and the document atomically as before. The same pass feeds the sinks that
must only see confirmed tracks with their final labels (summary, tracks.vtt,
detections.csv, events.csv, the annotated video: `FrameSink.after_tracks`), so results,
exports and summary agree.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from app.domain.detections import Detection
from app.domain.frames import Frame, FrameSink, abort_sinks
from app.domain.results_writer import ResultsWriter, dumps
from app.domain.track_facts import TrackFacts


class FinishingWriter(FrameSink):
    """The job's first sink: spools frames and observes tracks; at close, the pass."""

    def __init__(
        self, writer: ResultsWriter, facts: TrackFacts, after: Sequence[FrameSink] = ()
    ) -> None:
        self.writer = writer
        self.facts = facts
        self.after = list(after)
        # Called after each frame of the pass: it can take a while (the annotated video
        # is encoded in it), and the worker's heartbeat must not take it for a stall.
        self.on_frame: Callable[[], None] | None = None
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close or abort

    def add(self, frame: Frame) -> None:
        self.facts.observe(frame)
        self._spool.write(dumps(frame.item()) + b"\n")

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self.facts.settle()
        for sink in self.after:
            sink.tracks_settled(self.facts)
        for frame_item, frame in self._finished_frames():
            self.writer.add_item(frame_item)
            for sink in self.after:
                sink.add(frame)
            if self.on_frame is not None:
                self.on_frame()
        self._spool.close()
        self.writer.close(video, warnings)
        for sink in self.after:
            sink.close(video, list(warnings))

    def _finished_frames(self) -> Iterator[tuple[dict[str, Any], Frame]]:
        """Each spooled item rewritten, with the frame the later sinks see: confirmed
        detections only, the frame's shot, and the tracks that ended before it."""
        facts = self.facts
        endings = [(t.last_frame, t.track_id) for t in facts.tracks(confirmed_only=False)]
        heapq.heapify(endings)
        self._spool.seek(0)
        for line in self._spool:
            item = json.loads(line)
            index = item["frame_index"]
            result = item["result"]
            found = result.get("detections")
            detections: list[Detection] | None = None
            if found is not None:
                rewritten = [facts.rewrite(d) for d in found]
                item = {**item, "result": {**result, "detections": rewritten}}
                reported = [d for d in rewritten if facts.is_reported(d.get("track_id"))]
                detections = [Detection.from_dict(d) for d in reported]
            ended = []
            while endings and endings[0][0] < index:
                ended.append(heapq.heappop(endings)[1])
            rest = {k: v for k, v in result.items() if k != "detections"}
            frame = Frame(index, item["timestamp_ms"], None, rest, shot=facts.shot_at(index))
            frame.detections, frame.ended_tracks = detections, sorted(ended)
            yield item, frame

    @property
    def output_path(self) -> str | None:
        return self.writer.output_path

    def abort(self) -> None:
        self._spool.close()
        self.writer.abort()
        abort_sinks(self.after)
