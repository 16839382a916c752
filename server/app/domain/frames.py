"""The frame loop's vocabulary: a decoded frame, the stages after the steps, the sinks.

The loop is `for frame in source: steps; stages; sinks` (docs/architecture.md). Stages
hold per-job state (shots, tracks, filters); sinks consume finished frames and own the
files they write, so a new export is a new sink, not an edit of the loop. Plain Python:
`image` is a numpy array in practice, typed Any so the domain imports no numpy.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from app.domain.detections import Detection

if TYPE_CHECKING:
    from app.domain.segment_pictures import SegmentPictures
    from app.domain.track_facts import TrackFacts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameLook:
    """Cheap statistics of a small grey copy of a frame, measured once by the shots
    stage and read by the summary (black segments) and the keyframe choice: `mean` and
    `std` of the grey levels (0..255), `sharpness` the variance of its Laplacian, and
    `blank` when the frame is black or nearly uniform (no picture to show)."""

    mean: float
    std: float
    sharpness: float
    blank: bool


@dataclass
class Frame:
    """One decoded frame on its way through the loop."""

    index: int  # the decoder's frame number, from 0 (sampled frames keep theirs)
    timestamp_ms: int  # presentation time in ms from the start of the video stream
    image: Any  # numpy BGR array (None once the frame has left the stages)
    result: dict[str, Any] = field(default_factory=dict)  # the per-frame result
    # The shot the frame belongs to, from 0: set by the shots stage, read by the tracker
    # (tracks end at a cut) and the summary; not part of the results item.
    shot: int = 0
    # Track ids the tracker ended at this frame (gone for over its gap, or a cut), so
    # the summary can write them out instead of keeping every track of a long video.
    ended_tracks: list[int] = field(default_factory=list)
    # The shots stage's statistics of this frame (None when no shots stage ran).
    look: FrameLook | None = None
    # What the detection steps found; None when the pipeline has no detection step (its
    # results then have no "detections" key), [] when one ran and found nothing.
    detections: list[Detection] | None = None

    def detected(self) -> list[Detection]:
        """The frame's detections, started empty by the first detection step to run."""
        if self.detections is None:
            self.detections = []
        return self.detections

    def item(self) -> dict[str, Any]:
        """The results document's item for this frame (contract shape); the only place
        detections are turned into JSON."""
        result = self.result
        if self.detections is not None:
            result = {"detections": [d.to_dict() for d in self.detections], **result}
        return {"frame_index": self.index, "timestamp_ms": self.timestamp_ms, "result": result}


class FrameStage(ABC):
    """Per-job state that runs after the steps on every analysed frame."""

    @abstractmethod
    def process(self, frame: Frame) -> None: ...

    def warnings(self) -> list[str]:
        """Sentences for the job's `warnings`, asked once after the last frame."""
        return []

    def person_ids(self) -> dict[int, int]:
        """Track id -> person id (>= 1, the same person across the whole video), asked
        once after the last frame; the job's finishing pass writes them into results."""
        return {}


class FrameSink(ABC):
    """Consumes each finished frame; owns the files it writes.

    `close` finishes the files atomically when the job is done; `abort` removes every
    file the sink wrote, also after `close` (another sink's close may fail after this
    one's, and a job whose claim was lost keeps nothing). Both may be called once each.

    A sink with `after_tracks` is not fed by the loop but by the job's finishing pass
    (domain/finishing.py), once every track's fate is known: it sees only confirmed
    tracks' detections, each with its track's life-long label, with `image` None.
    """

    after_tracks: ClassVar[bool] = False

    @abstractmethod
    def add(self, frame: Frame) -> None: ...

    def tracks_settled(self, facts: TrackFacts) -> None:  # noqa: B027 - optional hook
        """An `after_tracks` sink is told the settled track table before its frames."""

    def pictures_given(self, pictures: SegmentPictures) -> None:  # noqa: B027 - optional hook
        """A split job's merge (which decodes no pictures) hands over the shots' keyframes
        and black runs its segments took, before the sinks close."""

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:  # noqa: B027
        """Job done: `video` is the results' video object, `warnings` the job's."""

    def abort(self) -> None:  # noqa: B027 - optional hook
        """Job failed or stopped: remove this sink's files (temporary and finished)."""


def close_sinks(sinks: Sequence[FrameSink], video: dict[str, Any], warnings: Sequence[str]) -> None:
    """Close every sink; if one fails, all are aborted (none keeps a file) and it raises."""
    try:
        for sink in sinks:
            sink.close(video, list(warnings))
    except BaseException:
        abort_sinks(sinks)
        raise


def abort_sinks(sinks: Sequence[FrameSink]) -> None:
    """Abort every sink; one failing abort does not keep the others' files."""
    for sink in sinks:
        try:
            sink.abort()
        except Exception:
            log.exception("%s could not remove its files", type(sink).__name__)


@dataclass(frozen=True)
class FrameLimits:
    """The contract's limits, enforced while decoding (settings name each one)."""

    max_pixels: int = 3840 * 2160
    max_duration_s: float = 14400.0
    max_frames: int = 1_000_000
    max_job_s: float = 21600.0
    max_detections_per_frame: int = 100
