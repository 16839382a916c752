"""The source's sound in the annotated video: its first audio track's packets copied as
they are (no decoding, no re-encoding), shifted to the annotated video's clock.

The annotated video starts at its first analysed frame (time 0 there is that frame's
timestamp), so a packet moves by the same amount and packets before it are left out;
packets are muxed as the frames reach their time, so the two tracks interleave, and
the copy stops where the last frame ends (`end_s`, or the end of the video). An audio
codec that MP4 cannot carry is left out with a log line rather than re-encoded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av

log = logging.getLogger(__name__)
# Audio codecs FFmpeg's MP4 muxer accepts as they are.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "opus", "alac", "flac"})


class AudioCopy:
    """Feeds one output container with the source's audio, up to a given time."""

    def __init__(self, source: Any, audio: Any, output: Any, first_ms: int) -> None:
        self._source = source
        self._time_base: Fraction = audio.time_base
        self._out_stream = output.add_stream_from_template(audio)
        self._output = output
        video = source.streams.video[0] if source.streams.video else None
        # Frame timestamps count from the video stream's start time (see frame_source).
        video_start = (
            video.start_time * video.time_base if video and video.start_time is not None else 0
        )
        self._shift = round((Fraction(video_start) + Fraction(first_ms, 1000)) / self._time_base)
        self._packets: Iterator[Any] = source.demux(audio)
        self._held: Any = None

    @classmethod
    def open(cls, source_path: str, output: Any, first_ms: int, job: str) -> AudioCopy | None:
        """None when the source has no audio track, or one MP4 cannot hold as it is."""
        source = av.open(source_path)
        audio = source.streams.audio[0] if source.streams.audio else None
        if audio is None or audio.codec_context.name not in MP4_AUDIO_CODECS:
            if audio is not None:
                log.info(
                    "job %s: the %s audio track is left out of the annotated video",
                    job,
                    audio.codec_context.name,
                )
            source.close()
            return None
        return cls(source, audio, output, first_ms)

    def until(self, video_ms: float) -> None:
        """Mux every packet that starts before `video_ms` on the annotated video's clock."""
        limit = math.floor(Fraction(video_ms) / 1000 / self._time_base)
        while True:
            packet = self._held if self._held is not None else next(self._packets, None)
            self._held = None
            if packet is None:
                return
            if packet.pts is None or packet.size == 0:
                continue
            pts = packet.pts - self._shift
            if pts < 0:
                continue
            if pts >= limit:
                self._held = packet
                return
            dts = packet.dts - self._shift if packet.dts is not None else pts
            packet.pts, packet.dts = pts, max(dts, 0)
            packet.stream = self._out_stream
            self._output.mux(packet)

    def close(self) -> None:
        self._source.close()
