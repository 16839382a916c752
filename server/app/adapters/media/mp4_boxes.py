"""Bounded reading of ISO-BMFF (MP4) boxes: headers by seeking, small payloads only.

Every size is checked against its parent (or the file) before anything is read, and the
number of boxes visited is capped, so a crafted file cannot make the parser allocate or
loop without bound.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

_HEADER = struct.Struct(">I4s")
# More boxes than any real file has (a 4 h fragmented video has ~15,000 fragments).
MAX_BOXES = 1_000_000
# The largest payload read whole (tkhd, mdhd, hdlr, the start of stsd, ...).
MAX_SMALL_READ = 64 * 1024


class Malformed(Exception):
    """The bytes do not follow the box structure; the message says where."""


class Box(NamedTuple):  # a tuple: cheap to make, a million of them are walked at worst
    kind: str
    offset: int  # where the box starts (its size field)
    header: int  # 8, or 16 with a 64-bit size
    size: int  # the whole box, header included (clamped to the parent when truncated)
    truncated: bool = False  # the declared size runs past the end of the file

    @property
    def start(self) -> int:
        """Where the payload starts."""
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload_size(self) -> int:
        return self.size - self.header


class BoxReader:
    """Reads box headers and bounded payloads from a seekable file."""

    def __init__(self, handle: BinaryIO, file_size: int) -> None:
        self.handle = handle
        self.file_size = file_size
        self.visited = 0

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes at `offset` (a short read is Malformed)."""
        if length < 0 or offset < 0 or offset + length > self.file_size:
            raise Malformed(f"a read of {length} bytes at {offset} runs past the end of the file")
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise Malformed(f"the file ended inside a box at {offset}")
        return data

    def payload(self, box: Box, limit: int = MAX_SMALL_READ, *, at_most: bool = False) -> bytes:
        """A box's payload; over `limit` it is Malformed, or cut to `limit` with at_most."""
        length = box.payload_size
        if length > limit:
            if not at_most:
                raise Malformed(f"'{box.kind}' box of {box.size} bytes is absurdly large")
            length = limit
        return self.read(box.start, length)

    def children(self, start: int, end: int, *, top_level: bool = False) -> Iterator[Box]:
        """The boxes between start and end. Inside a parent a child may not run past it;
        at the top level the last box may be cut short (a truncated upload): it is
        returned with truncated=True and the walk stops."""
        pos = start
        while pos + 8 <= end:
            self.visited += 1
            if self.visited > MAX_BOXES:
                raise Malformed(f"more than {MAX_BOXES} boxes: not a video a person made")
            size, raw_kind = _HEADER.unpack(self.read(pos, 8))
            header = 8
            if size == 1:
                (size,) = struct.unpack(">Q", self.read(pos + 8, 8))
                header = 16
            elif size == 0:  # "to the end of the file" (or of the parent)
                size = end - pos
            kind = raw_kind.decode("latin-1")
            if size < header:
                raise Malformed(f"'{kind}' box at {pos} declares {size} bytes, under its header")
            if pos + size > end:
                if not top_level:
                    raise Malformed(f"'{kind}' box at {pos} runs past its parent")
                yield Box(kind, pos, header, end - pos, truncated=True)
                return
            yield Box(kind, pos, header, size)
            pos += size

    def find(self, parent: Box, kind: str) -> Box | None:
        """The first child of `parent` of this kind."""
        for box in self.children(parent.start, parent.end):
            if box.kind == kind:
                return box
        return None

    def path(self, parent: Box, *kinds: str) -> Box | None:
        """Follow a chain of child kinds, e.g. path(trak, 'mdia', 'minf', 'stbl')."""
        box: Box | None = parent
        for kind in kinds:
            if box is None:
                return None
            box = self.find(box, kind)
        return box


def full_box(data: bytes) -> tuple[int, int, bytes]:
    """(version, flags, rest) of a FullBox payload."""
    if len(data) < 4:
        raise Malformed("a full box is shorter than its version and flags")
    return data[0], int.from_bytes(data[1:4], "big"), data[4:]


def unpack(fmt: str, data: bytes, offset: int = 0) -> tuple:
    """struct.unpack_from that says Malformed (not struct.error) when data is short."""
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as exc:
        raise Malformed(f"a box is too short ({len(data)} bytes)") from exc
