"""The source of the frame loop: decoded frames with their presentation times.

A reader thread decodes a few frames ahead (OpenCV releases the GIL while it decodes, so
one core decodes while the steps run on the other). It seeks to `start_s`, stops at
`end_s`, skips frames that sampling does not pick with `grab()` (decoded, never
converted to BGR) and enforces the limits as it decodes: the frame size before any
frame is decoded, the frame count and the duration as they grow.

Timestamps: after `grab()`, OpenCV's FFmpeg backend reports `CAP_PROP_POS_MSEC` from the
frame's best-effort presentation timestamp minus the stream's start time, the same
number `ffprobe -show_frames` prints as best_effort_timestamp_time - start_time.
"""

from __future__ import annotations

import contextvars
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2

from app.adapters.pipeline.source_checks import DecodeBounds, declared_video
from app.adapters.pipeline.thread_budget import decoder_threads
from app.domain.errors import VideoDecodeError, VideoJobsError
from app.domain.frames import Frame, FrameLimits
from app.domain.options import AnalysisOptions

log = logging.getLogger(__name__)
_END = object()
MAX_FAILED_READS = 64  # in a row; past that the rest of the file is taken as lost


@dataclass(frozen=True)
class VideoProperties:
    fps: float
    width: int
    height: int
    frames_declared: int | None  # the container's frame count; None when it has none


def open_video(path: str) -> cv2.VideoCapture:
    # The decoder's threads within the worker's budget (thread_budget.py), not one per core.
    threads = [cv2.CAP_PROP_N_THREADS, decoder_threads()]
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, threads)
    if not capture.isOpened():
        capture.release()
        raise VideoDecodeError(
            "the video could not be opened: the file is corrupt, truncated, "
            "or has no video track OpenCV can decode"
        )
    return capture


def read_properties(capture: cv2.VideoCapture, declared: int | None = None) -> VideoProperties:
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 0.0
    if declared is None:
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        declared = int(count) if count and math.isfinite(count) and count > 0 else None
    return VideoProperties(
        fps=fps,
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        frames_declared=declared,
    )


class VideoSource:
    """Iterate the analysed frames of one video (bounded prefetch on a thread).

    After iteration: `frames_decoded` (every frame the decoder produced, sampled or
    not), `width`/`height` of the decoded frames, `ended_early` when decoding stopped
    before the container's declared count without a time range asking for it, and
    `damaged_spans`: how many times decoding failed and then resumed further on.
    """

    def __init__(
        self,
        path: str,
        options: AnalysisOptions | None = None,
        limits: FrameLimits | None = None,
        prefetch: int = 4,
        on_skip: Callable[[int], None] | None = None,
    ) -> None:
        self.options = options or AnalysisOptions()
        # Called on the reader thread with how far into the video it is, for each frame
        # decoded but not analysed (before start_s, or not picked by sampling): a long
        # skip still reports progress, and may raise to stop the run.
        self.on_skip = on_skip
        self.limits = limits or FrameLimits()
        header = declared_video(path)
        if header is not None:  # refuse a frame size before a decoder allocates it
            DecodeBounds(self.limits).check_size(header.width, header.height)
        self._capture = open_video(path)
        try:
            declared = header.frame_count if header is not None else None
            self.properties = read_properties(self._capture, declared)
            DecodeBounds(self.limits).check_size(self.properties.width, self.properties.height)
        except BaseException:
            self._capture.release()
            raise
        self.frames_decoded = 0
        self.width, self.height = self.properties.width, self.properties.height
        self.ended_early = False
        self.damaged_spans = 0
        self._prefetch = prefetch
        self._frames: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        # In a copy of the creator's context: its log lines carry the job's id.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._decode,),
            name="frame-reader",
            daemon=True,
        )

    # -- the reader thread ------------------------------------------------------
    def _decode(self) -> None:
        try:
            self._decode_frames()
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._error = exc
        finally:
            self._offer(_END)

    def _decode_frames(self) -> None:
        capture, options = self._capture, self.options
        bounds = DecodeBounds(self.limits)
        start_ms = (options.start_s or 0.0) * 1000.0
        end_ms = options.end_s * 1000.0 if options.end_s is not None else None
        period_ms = 1000.0 / options.sample_fps if options.sample_fps else None
        # A segment counts slots from its parent's start: the frames it picks are those
        # an unsplit run picks (domain/segments.py).
        slots_ms = start_ms if options.slots_from_s is None else options.slots_from_s * 1000.0
        index = 0
        if start_ms > 0 and capture.set(cv2.CAP_PROP_POS_MSEC, start_ms):
            index = max(int(capture.get(cv2.CAP_PROP_POS_FRAMES)), 0)
        last_slot = -1
        checked_size = False
        failed = 0  # grabs failed in a row: damaged data the decoder may get past
        while not self._stop.is_set():
            if not capture.grab():
                failed += 1
                if self._worth_retrying(index, failed):
                    continue
                declared = self.properties.frames_declared
                self.ended_early = declared is not None and index < declared
                return
            timestamp_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            if failed:  # frames were lost: number the next one by its time
                self.damaged_spans += 1
                fps = self.properties.fps
                index = max(index, round(timestamp_ms * fps / 1000.0)) if fps else index
                failed = 0
            self.frames_decoded += 1
            bounds.check_decoded(self.frames_decoded, timestamp_ms)
            frame_index, index = index, index + 1
            if end_ms is not None and timestamp_ms >= end_ms:
                return
            slot = math.floor((timestamp_ms - slots_ms) / period_ms) if period_ms else last_slot + 1
            if timestamp_ms < start_ms or slot <= last_slot:  # decoded, never converted
                if self.on_skip is not None:
                    self.on_skip(index)
                continue
            last_slot = slot
            ok, image = capture.retrieve()
            if not ok or image is None:
                self.damaged_spans += 1
                continue
            if not checked_size:
                self.height, self.width = image.shape[:2]
                bounds.check_size(self.width, self.height)
                checked_size = True
            self._offer(Frame(frame_index, round(timestamp_ms), image))

    def _worth_retrying(self, index: int, failed: int) -> bool:
        """After a failed read, FFmpeg can resume at the next intact packet: keep reading
        while the container declares more frames, for a bounded number of failures."""
        declared = self.properties.frames_declared
        return declared is not None and index < declared and failed <= MAX_FAILED_READS

    def _offer(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # -- the consumer side ------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        self._thread.start()
        try:
            while (item := self._frames.get()) is not _END:
                yield item
            if isinstance(self._error, VideoJobsError):
                raise self._error
            if self._error is not None:
                raise VideoDecodeError(f"decoding failed: {self._error}") from self._error
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._capture.release()
