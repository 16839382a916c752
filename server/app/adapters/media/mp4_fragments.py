"""Fragmented MP4 (moov/mvex + moof boxes): sample count, duration and keyframes of one
track, summed from the `trun` boxes of every fragment, reading entries in chunks."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from app.adapters.media.mp4_boxes import Box, BoxReader, Malformed, full_box, unpack

# The largest keyframe table kept (64 MiB as uint32); far past any allowed frame count.
MAX_TABLE_ENTRIES = 1 << 24
NON_SYNC_FLAG = 0x00010000
_CHUNK_ENTRIES = 1 << 16
# trun per-sample fields, in file order: (flag bit, name).
_TRUN_FIELDS = ((0x100, "duration"), (0x200, "size"), (0x400, "flags"), (0x800, "cto"))


@dataclass(frozen=True)
class TrackDefaults:
    """trex: what a fragment's samples are when neither tfhd nor trun says otherwise."""

    duration: int | None = None
    flags: int = 0


@dataclass
class FragmentTotals:
    samples: int = 0
    duration: int | None = 0  # in the track's timescale; None once one sample has none
    sync: array = field(default_factory=lambda: array("I"))
    collect_sync: bool = True


def read_trex(reader: BoxReader, mvex: Box) -> dict[int, TrackDefaults]:
    """track_ID -> defaults, from each trex box of mvex."""
    defaults = {}
    for box in reader.children(mvex.start, mvex.end):
        if box.kind == "trex":
            _version, _flags, rest = full_box(reader.payload(box))
            track_id, _desc, duration, _size, flags = unpack(">5I", rest)
            defaults[track_id] = TrackDefaults(duration or None, flags)
    return defaults


def sum_fragments(
    reader: BoxReader,
    top_level: Iterable[Box],
    track_id: int,
    defaults: TrackDefaults,
    *,
    keyframes: bool = True,
) -> FragmentTotals | None:
    """Totals over every moof for track_id; None when the file has no fragment for it.
    Without `keyframes` the sync table stays empty (not collected)."""
    totals = FragmentTotals(collect_sync=keyframes)
    seen = False
    for moof in top_level:
        if moof.kind != "moof" or moof.truncated:
            continue
        for traf in reader.children(moof.start, moof.end):
            if traf.kind == "traf" and _add_traf(reader, traf, track_id, defaults, totals):
                seen = True
    return totals if seen else None


def _add_traf(
    reader: BoxReader, traf: Box, track_id: int, defaults: TrackDefaults, totals: FragmentTotals
) -> bool:
    tfhd = reader.find(traf, "tfhd")
    if tfhd is None:
        raise Malformed("a 'traf' box has no 'tfhd'")
    _version, flags, rest = full_box(reader.payload(tfhd))
    (this_track,) = unpack(">I", rest)
    if this_track != track_id:
        return False
    pos = 4 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
    duration, sample_flags = defaults.duration, defaults.flags
    if flags & 0x08:
        (duration,) = unpack(">I", rest, pos)
        pos += 4
    if flags & 0x10:
        pos += 4
    if flags & 0x20:
        (sample_flags,) = unpack(">I", rest, pos)
    for trun in reader.children(traf.start, traf.end):
        if trun.kind == "trun":
            _add_trun(reader, trun, duration, sample_flags, totals)
    return True


def _add_trun(
    reader: BoxReader,
    trun: Box,
    default_duration: int | None,
    default_flags: int,
    totals: FragmentTotals,
) -> None:
    _version, flags, rest = full_box(reader.read(trun.start, min(trun.payload_size, 16)))
    (count,) = unpack(">I", rest)
    first_flags = None
    header = 8 + (4 if flags & 0x01 else 0)
    if flags & 0x04:
        (first_flags,) = unpack(">I", rest, header - 4)
        header += 4
    fields = [name for bit, name in _TRUN_FIELDS if flags & bit]
    if header + count * 4 * len(fields) > trun.payload_size:
        raise Malformed(f"a 'trun' box declares {count} samples but is {trun.size} bytes long")
    base = totals.samples
    if totals.collect_sync and base + count > MAX_TABLE_ENTRIES:
        raise Malformed(f"more than {MAX_TABLE_ENTRIES} samples in the fragments")
    totals.samples += count
    pos = trun.start + header
    for first in range(0, count, _CHUNK_ENTRIES):
        n = min(_CHUNK_ENTRIES, count - first)
        table = _entries(reader, pos, n, len(fields))
        pos += n * 4 * len(fields)
        _add_durations(totals, table, fields, n, default_duration)
        if not totals.collect_sync:
            continue
        if "flags" in fields:
            sample_flags = table[:, fields.index("flags")].astype(np.uint32)
        else:
            sample_flags = np.full(n, default_flags, dtype=np.uint32)
        if first == 0 and first_flags is not None and n:
            sample_flags[0] = first_flags
        sync = np.flatnonzero((sample_flags & NON_SYNC_FLAG) == 0) + (base + first)
        totals.sync.frombytes(sync.astype(np.uint32).tobytes())


def _entries(reader: BoxReader, pos: int, n: int, width: int) -> np.ndarray:
    if width == 0:
        return np.zeros((n, 0), dtype=np.uint32)
    raw = reader.read(pos, n * 4 * width)
    return np.frombuffer(raw, dtype=">u4").reshape(n, width)


def _add_durations(
    totals: FragmentTotals, table: np.ndarray, fields: list[str], n: int, default: int | None
) -> None:
    if totals.duration is None:
        return
    if "duration" in fields:
        totals.duration += int(table[:, fields.index("duration")].astype(np.uint64).sum())
    elif default is not None:
        totals.duration += default * n
    else:
        totals.duration = None
