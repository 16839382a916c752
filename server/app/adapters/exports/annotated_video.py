"""`<job_id>_annotated.mp4` (annotate=true): the analysed frames with boxes, labels and
track ids drawn (annotator.py), encoded as it goes.

H.264 (yuv420p) in MP4 with the index at the front (`faststart`), which Chromium's
<video> plays and seeks; OpenCV's wheels only write MPEG-4 Part 2 (`mp4v`, refused by
Chromium) or VP9 at ~6 fps for 720p, so encoding goes through PyAV's bundled FFmpeg
and libx264 (~130 fps at 720p, `veryfast`). Each frame keeps its own presentation time
(ms since the first analysed frame), so a sampled or variable-frame-rate job plays at
the right pace. Frames wider than `max_width` are shrunk first: the video is for
looking at, and the encoder's cost grows with the pixels. The source's audio track is
copied in as it is (audio_copy.py).

Written by the end-of-job pass (`after_tracks`), like the summary: it draws confirmed
tracks only, with their life-long labels, and its live zone counts are the job's one
zone feed's (zone_feed.py), so they end equal to the summary's. That pass has no
pictures, so the sink decodes the upload again (`source_path`, the job's own range and
sampling: the same frame numbers) and takes each frame's picture by its number; raw
decode is several times faster than encoding, so this costs little beside the encoder.
A frame that arrives with its picture (a caller feeding the sink directly) is used as
it is.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import av
import cv2

from app.adapters.exports.annotator import draw
from app.adapters.exports.audio_copy import AudioCopy
from app.adapters.exports.base import ExportSink
from app.adapters.exports.zone_drawing import draw_zones
from app.adapters.exports.zone_feed import ZoneFeed
from app.adapters.pipeline.frame_source import VideoSource
from app.adapters.pipeline.thread_budget import decoder_threads
from app.domain.errors import InsufficientStorage
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame, FrameLimits
from app.domain.model import Job, input_key
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService
from app.domain.track_facts import TrackFacts
from app.domain.zones import ZoneSpec

log = logging.getLogger(__name__)
MS = Fraction(1, 1000)


@contextlib.contextmanager
def _disk_full_is_insufficient_storage() -> Iterator[None]:
    """FFmpeg's write errors (PyAV raises them as OSError) with the project's meaning."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the server's disk is full; try again later") from exc
        raise


# The second decode reads only frames the job's loop already decoded within its limits.
_REREAD_LIMITS = FrameLimits(
    max_pixels=10**12, max_duration_s=10.0**9, max_frames=10**12, max_job_s=10.0**9
)


class AnnotatedVideoSink(ExportSink):
    writes = ("annotated.mp4",)
    after_tracks = True  # confirmed tracks only; counts from the job's zone feed

    def __init__(
        self,
        storage: StorageService,
        job_id: uuid.UUID,
        max_width: int = 1280,
        crf: int = 23,
        source_path: str | None = None,
        zones: ZoneSpec | None = None,
        options: AnalysisOptions | None = None,
    ) -> None:
        self.job_id = job_id
        # A job with `zones` gets them drawn, with counts as they stand at each frame.
        self._zones = zones
        self._zones_px: ZoneSpec | None = None
        self.source_path = source_path  # the uploaded video: its pictures and sound
        self.options = options or AnalysisOptions()
        self._source: VideoSource | None = None
        self._pictures: Iterator[Frame] | None = None
        self.max_width = max_width
        self.crf = crf
        self._file = storage.open_write(EXPORT_BY_NAME["annotated.mp4"].key(job_id))
        self._container: Any = None
        self._stream: Any = None
        self._size = (0, 0)
        self._scale = 1.0
        self._first_ms: int | None = None
        self._last_pts = -1
        self._audio: AudioCopy | None = None

    @classmethod
    def for_job(cls, storage: StorageService, job: Job) -> AnnotatedVideoSink:
        """Reads the upload too, to copy its sound."""
        options = AnalysisOptions.from_dict(job.options)
        return cls(
            storage,
            job.job_id,
            source_path=storage.local_path(input_key(job.source_id)),
            zones=options.zone_spec(),
            options=options,
        )

    def tracks_settled(self, facts: TrackFacts) -> None:
        if (feed := self._feed()) is not None:
            feed.tracks_settled(facts)

    def _feed(self) -> ZoneFeed | None:
        if self._zones is not None and self.zone_feed is None:
            self.zone_feed = ZoneFeed(self._zones, self.zone_rules)
        return self.zone_feed

    def _picture(self, index: int) -> Any:
        """Frame `index`'s picture from the second decode of the upload (None when it
        has no such frame: the decoder then gave fewer frames than the loop had)."""
        if self._pictures is None:
            if self.source_path is None:
                return None
            self._source = VideoSource(self.source_path, self.options, _REREAD_LIMITS)
            self._pictures = iter(self._source)
        for frame in self._pictures:
            if frame.index == index:
                return frame.image
            if frame.index > index:
                return None  # not in this decode: skipped, the next frame may be
        return None

    def _open(self, width: int, height: int) -> None:
        self._scale = min(1.0, self.max_width / width)
        # yuv420p needs even sides.
        out_w = max(2, int(width * self._scale) // 2 * 2)
        out_h = max(2, int(height * self._scale) // 2 * 2)
        self._size = (out_w, out_h)
        self._container = av.open(
            self._file.path, "w", format="mp4", options={"movflags": "+faststart"}
        )
        stream = self._container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        stream.time_base = MS
        stream.codec_context.time_base = MS
        stream.options = {"preset": "veryfast", "crf": str(self.crf)}
        stream.codec_context.thread_count = decoder_threads()  # the worker's budget
        self._stream = stream

    def add(self, frame: Frame) -> None:
        image = frame.image if frame.image is not None else self._picture(frame.index)
        if image is None:
            return
        source_shape = image.shape
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        out_w, out_h = self._size
        if (image.shape[1], image.shape[0]) != (out_w, out_h):
            image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
        else:
            image = image.copy()  # never draw on the frame other sinks may still read
        height, width = source_shape[:2]
        scale = out_w / width
        if self._zones is not None and (feed := self._feed()) is not None:
            if feed.size is None:
                feed.size = (width, height)
            feed.events(frame)
            if self._zones_px is None:
                self._zones_px = self._zones.in_pixels(width, height)
            draw_zones(image, self._zones_px, feed.totals, scale)
        draw(image, frame.detections or (), scale)
        if self._first_ms is None:
            self._first_ms = frame.timestamp_ms
            if self.source_path is not None:
                self._audio = AudioCopy.open(
                    self.source_path, self._container, frame.timestamp_ms, str(self.job_id)
                )
        pts = max(frame.timestamp_ms - self._first_ms, self._last_pts + 1)
        self._last_pts = pts
        video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        video_frame.pts, video_frame.time_base = pts, MS
        with _disk_full_is_insufficient_storage():
            if self._audio is not None:
                self._audio.until(pts)
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        self._file.grew()

    def _close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source, self._pictures = None, None

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self._close_source()
        if self._container is None:
            self._file.discard()
            return
        fps = video.get("fps") or 0
        with _disk_full_is_insufficient_storage():
            if self._audio is not None:  # the sound of the last frame too
                self._audio.until(self._last_pts + (1000 / fps if fps else 0))
                self._audio.close()
                self._audio = None
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            self._file.commit()
        log.info("job %s: annotated video written (%dx%d)", self.job_id, *self._size)

    def abort(self) -> None:
        self._close_source()
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is removed either way
                log.debug("job %s: closing the annotated video failed", self.job_id)
            self._container = None
        self._file.discard()
