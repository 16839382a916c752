"""Header-only MP4 probe: what a video declares (size, frames, duration, keyframes)
without decoding a frame. Reads box headers with seeks and only the moov tables it
needs, so a 2 GB upload costs a few reads and memory bounded by its keyframe table.
"""

from __future__ import annotations

import logging
import os
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.adapters.media.mp4_boxes import Box, BoxReader, Malformed, full_box, unpack
from app.adapters.media.mp4_fragments import (
    MAX_TABLE_ENTRIES,
    TrackDefaults,
    read_trex,
    sum_fragments,
)
from app.domain.errors import InvalidUpload

log = logging.getLogger(__name__)

_UNKNOWN_DURATIONS = (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
_TABLE_CHUNK = 1 << 18  # keyframe entries read at a time (1 MiB)
_CACHED_HEADERS = 16  # frame images of a few jobs at once, each header read once


@dataclass(frozen=True)
class VideoTrackInfo:
    """The first video track as declared by the container (what the header claims)."""

    width: int
    height: int
    frame_count: int | None  # declared samples; None when the container declares none
    duration_s: float | None
    timescale: int
    codec: str  # sample entry fourcc, e.g. 'avc1', 'mp4v'
    sync_samples: array | None  # 0-based keyframe indexes ('I'); None: all are keyframes


@dataclass(frozen=True)
class Mp4Info:
    video: VideoTrackInfo | None
    has_audio: bool


def probe_mp4(path: str | os.PathLike[str], *, keyframes: bool = True) -> Mp4Info:
    """Read an MP4's header; InvalidUpload when it cannot be understood.

    keyframes=False skips the keyframe table (sync_samples is then None, meaning "not
    read"): the submit check needs sizes and counts only, and no memory for the table.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            reader = BoxReader(handle, os.fstat(handle.fileno()).st_size)
            return _probe(reader, keyframes)
    except Malformed as exc:
        raise InvalidUpload(f"the MP4's header cannot be read: {exc}") from exc


def probe_mp4_cached(path: str | os.PathLike[str]) -> Mp4Info:
    """`probe_mp4`, kept for the last few files: the frame images of one job read the
    same header again and again. Keyed by path, size and modification time, so a file
    replaced in place is read afresh."""
    stat = os.stat(path)
    return _probe_unchanged(os.fspath(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=_CACHED_HEADERS)
def _probe_unchanged(path: str, _size: int, _mtime_ns: int) -> Mp4Info:
    return probe_mp4(path)


def keyframe_at_or_before(info: VideoTrackInfo, n: int) -> int:
    """The keyframe a decoder must start from to reach frame n (0 if none precedes it)."""
    if n < 0:
        raise ValueError(f"frame index must be >= 0, not {n}")
    sync = info.sync_samples
    if sync is None:
        return n
    i = bisect_right(sync, n)
    return sync[i - 1] if i else 0


def _probe(reader: BoxReader, keyframes: bool) -> Mp4Info:
    # Walked lazily, never listed: a file of a million tiny boxes costs no memory, and
    # the boxes after moov are only walked (for moof fragments) when mvex says so.
    top = reader.children(0, reader.file_size, top_level=True)
    first = next(top, None)
    if first is None or first.kind != "ftyp":
        raise Malformed("it does not start with an 'ftyp' box")
    moov = next((box for box in top if box.kind == "moov"), None)
    if moov is None:
        raise Malformed("there is no 'moov' box (the upload may be cut short)")
    if moov.truncated:
        raise Malformed("the 'moov' box is cut short")
    movie_timescale, movie_duration = _mvhd(reader, moov)
    mvex = reader.find(moov, "mvex")
    video: VideoTrackInfo | None = None
    has_audio = False
    for trak in reader.children(moov.start, moov.end):
        if trak.kind != "trak":
            continue
        handler = _handler(reader, trak)
        if handler == "soun":
            has_audio = True
        elif handler == "vide" and video is None:
            movie = (movie_timescale, movie_duration)
            video = _video_track(reader, trak, top, mvex, movie, keyframes)
    return Mp4Info(video=video, has_audio=has_audio)


def _mvhd(reader: BoxReader, moov: Box) -> tuple[int, int]:
    mvhd = reader.find(moov, "mvhd")
    if mvhd is None:
        return 0, 0
    version, _flags, rest = full_box(reader.payload(mvhd))
    if version == 1:
        return unpack(">16xIQ", rest)
    return unpack(">8xII", rest)


def _handler(reader: BoxReader, trak: Box) -> str | None:
    hdlr = reader.path(trak, "mdia", "hdlr")
    if hdlr is None:
        return None
    _version, _flags, rest = full_box(reader.payload(hdlr))
    return unpack(">4x4s", rest)[0].decode("latin-1")


def _video_track(
    reader: BoxReader,
    trak: Box,
    top: Iterator[Box],
    mvex: Box | None,
    movie: tuple[int, int],
    keyframes: bool,
) -> VideoTrackInfo:
    movie_timescale, movie_duration = movie
    track_id, tk_width, tk_height = _tkhd(reader, trak)
    timescale, duration = _mdhd(reader, trak)
    stbl = reader.path(trak, "mdia", "minf", "stbl")
    codec, width, height = _sample_entry(reader, stbl) if stbl else ("", 0, 0)
    frame_count = _sample_count(reader, stbl) if stbl else None
    sync = _stss(reader, stbl) if stbl and keyframes else None
    duration_s = duration / timescale if timescale and duration not in _UNKNOWN_DURATIONS else None
    if mvex is not None:
        defaults = read_trex(reader, mvex).get(track_id, TrackDefaults())
        fragments = sum_fragments(reader, top, track_id, defaults, keyframes=keyframes)
        if fragments is not None:
            frame_count = (frame_count or 0) + fragments.samples
            if keyframes and len(fragments.sync) < fragments.samples:
                sync = fragments.sync
            if duration_s is None and fragments.duration is not None and timescale:
                duration_s = fragments.duration / timescale
        elif not frame_count:
            frame_count = None
        if duration_s is None:
            duration_s = _mehd_duration(reader, mvex, movie_timescale)
    if duration_s is None and movie_timescale and movie_duration not in _UNKNOWN_DURATIONS:
        duration_s = movie_duration / movie_timescale
    return VideoTrackInfo(
        width=width or tk_width,
        height=height or tk_height,
        frame_count=frame_count,
        duration_s=duration_s,
        timescale=timescale,
        codec=codec,
        sync_samples=sync,
    )


def _tkhd(reader: BoxReader, trak: Box) -> tuple[int, int, int]:
    """(track_ID, width, height); width and height are 16.16 fixed point."""
    tkhd = reader.find(trak, "tkhd")
    if tkhd is None:
        raise Malformed("a 'trak' box has no 'tkhd'")
    version, _flags, rest = full_box(reader.payload(tkhd))
    track_id = unpack(">16xI" if version == 1 else ">8xI", rest)[0]
    skip = 32 if version == 1 else 20  # times, track_ID, reserved, duration
    width, height = unpack(">52xII", rest, skip)  # reserved, layer..volume, matrix
    return track_id, width >> 16, height >> 16


def _mdhd(reader: BoxReader, trak: Box) -> tuple[int, int]:
    mdhd = reader.path(trak, "mdia", "mdhd")
    if mdhd is None:
        raise Malformed("a video track has no 'mdhd'")
    version, _flags, rest = full_box(reader.payload(mdhd))
    if version == 1:
        return unpack(">16xIQ", rest)
    return unpack(">8xII", rest)


def _sample_entry(reader: BoxReader, stbl: Box) -> tuple[str, int, int]:
    """(fourcc, width, height) of the first visual sample entry in stsd."""
    stsd = reader.find(stbl, "stsd")
    if stsd is None:
        return "", 0, 0
    _version, _flags, rest = full_box(reader.payload(stsd, limit=64, at_most=True))
    (entries,) = unpack(">I", rest)
    if entries == 0:
        return "", 0, 0
    # entry: size, type, reserved(6), data_ref(2), pre_defined/reserved(16), width, height
    kind, width, height = unpack(">4x4s24xHH", rest, 4)
    return kind.decode("latin-1"), width, height


def _sample_count(reader: BoxReader, stbl: Box) -> int | None:
    box = reader.find(stbl, "stsz") or reader.find(stbl, "stz2")
    if box is None:
        return None
    _version, _flags, rest = full_box(reader.payload(box, limit=12, at_most=True))
    return unpack(">4xI", rest)[0]  # stsz: sample_size; stz2: reserved + field_size


def _stss(reader: BoxReader, stbl: Box) -> array | None:
    """0-based keyframe indexes, sorted; None when there is no stss (all are keyframes)."""
    stss = reader.find(stbl, "stss")
    if stss is None:
        return None
    _version, _flags, rest = full_box(reader.read(stss.start, min(stss.payload_size, 8)))
    (count,) = unpack(">I", rest)
    if count > MAX_TABLE_ENTRIES:
        raise Malformed(f"the keyframe table has {count} entries, over {MAX_TABLE_ENTRIES}")
    if 8 + 4 * count > stss.payload_size:
        raise Malformed(f"the 'stss' box declares {count} entries but is {stss.size} bytes long")
    table = array("I")
    for first in range(0, count, _TABLE_CHUNK):
        n = min(_TABLE_CHUNK, count - first)
        numbers = np.frombuffer(reader.read(stss.start + 8 + 4 * first, 4 * n), dtype=">u4")
        table.frombytes((numbers[numbers > 0].astype(np.uint32) - 1).tobytes())  # 1-based
    if not _ascending(table):
        table = array("I", np.unique(np.frombuffer(table, dtype=np.uint32)).tobytes())
    return table


def _ascending(table: array) -> bool:
    values = np.frombuffer(table, dtype=np.uint32)
    return values.size < 2 or not bool(np.any(values[1:] < values[:-1]))


def _mehd_duration(reader: BoxReader, mvex: Box, movie_timescale: int) -> float | None:
    mehd = reader.find(mvex, "mehd")
    if mehd is None or not movie_timescale:
        return None
    version, _flags, rest = full_box(reader.payload(mehd))
    (duration,) = unpack(">Q" if version == 1 else ">I", rest)
    return duration / movie_timescale if duration not in _UNKNOWN_DURATIONS else None
