"""Decode one frame of a video with the work it costs counted, not taken from the header.

Reaching frame n means decoding from the keyframe before it. The MP4 header says where
the keyframes are, but a header can lie (an `stss` box renamed `free` makes every frame
a keyframe), and a decoder asked to start on a frame that is not one reads on, frame
after frame, until it finds a picture it can show. So the decoder is fed one packet at a
time here, each counted, with the wall time checked between packets: the first bound
reached stops the decode, whatever the header claimed.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np

from app.adapters.pipeline.thread_budget import decoder_threads

# A decoder outputs a frame a few packets after it received it (B-frame reordering,
# frame threads); the budget counts frames to reach, this is the room for that delay.
DECODER_DELAY_PACKETS = 16


class DecodeBudgetExceeded(Exception):
    """Frame n was not reached within the decode budget; `reason` says which bound."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NotAKeyframe(Exception):
    """The decoder shows no picture after a seek: it did not land on a real keyframe."""


def read_frame(path: str, n: int, max_decoded: int, timeout_s: float) -> np.ndarray | None:
    """Frame n (presentation order, from 0) as a BGR array; None when the video has no
    frame n or cannot be decoded. DecodeBudgetExceeded when reaching it would decode
    more than `max_decoded` frames or take longer than `timeout_s` seconds.

    The seek goes to the keyframe the demuxer believes in. When the decoder shows no
    picture from there, that keyframe was a lie: the search starts again `max_decoded`
    frames earlier, where the real one must be if frame n is within the budget at all.
    """
    deadline = time.monotonic() + timeout_s
    budget = _Budget(max_decoded, timeout_s, deadline)
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # frame threads would delay the first picture
            stream.codec_context.thread_count = decoder_threads()
            if stream.frames and n >= stream.frames:
                return None
            clock = _clock(stream)
            if clock is None or n == 0:
                return _decode_until(container, stream, n, clock, budget, check_landing=False)
            try:
                _seek(container, stream, clock, n)
                return _decode_until(container, stream, n, clock, budget, check_landing=True)
            except _NotAKeyframe:
                _seek(container, stream, clock, max(0, n - max_decoded))
                return _decode_until(container, stream, n, clock, budget, check_landing=False)
    except av.FFmpegError:
        return None


class _Budget:
    """Packets fed to the decoder and the deadline, shared by every try of a request."""

    def __init__(self, max_decoded: int, timeout_s: float, deadline: float) -> None:
        self.max_decoded, self.timeout_s, self.deadline = max_decoded, timeout_s, deadline
        self.packets = 0

    def spend(self) -> None:
        self.packets += 1
        if self.packets > self.max_decoded + 2 * DECODER_DELAY_PACKETS + 1:
            raise DecodeBudgetExceeded(f"{self.max_decoded} decoded frames")
        if time.monotonic() > self.deadline:
            raise DecodeBudgetExceeded(f"{self.timeout_s:g} s of decoding")


def _clock(stream: av.VideoStream) -> tuple[int, Fraction] | None:
    """(first timestamp, frames per timestamp tick), or None when the stream has no rate."""
    rate = stream.average_rate or stream.guessed_rate
    if not rate or stream.time_base is None:
        return None
    return stream.start_time or 0, Fraction(rate) * stream.time_base


def _seek(container: av.container.InputContainer, stream, clock, index: int) -> None:
    start, frames_per_tick = clock
    container.seek(start + int(index / frames_per_tick), stream=stream, backward=True)


def _decode_until(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    n: int,
    clock: tuple[int, Fraction] | None,
    budget: _Budget,
    check_landing: bool,
) -> np.ndarray | None:
    """Feed packets until the frame whose index (from its timestamp, or counted from the
    start when there is no clock) reaches n. With `check_landing`, _NotAKeyframe when
    no picture comes out of the first DECODER_DELAY_PACKETS packets."""
    counted = 0
    for fed, packet in enumerate(container.demux(stream), start=1):
        budget.spend()
        for frame in packet.decode():
            if clock is None or frame.pts is None:
                index = counted
            else:
                start, frames_per_tick = clock
                index = round((frame.pts - start) * frames_per_tick)
            counted += 1
            if index >= n:
                return frame.to_ndarray(format="bgr24")
        if check_landing and not counted and fed >= DECODER_DELAY_PACKETS:
            raise _NotAKeyframe
    return None
