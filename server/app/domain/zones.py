"""Named polygons and lines a submit asks to count in (contract "Zones and lines").

The `zones` option is JSON text; it is parsed and checked once at submit, before the
upload is stored, and its points are checked against the frame again once the video's
size is known from its header. Stored with the job as the dict `to_dict` gives, so
status and results echo what the client sent (units as given); the worker resolves
fractions to pixels with the decoded frame's size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.domain.errors import InvalidOptions

UNITS = ("px", "fraction")
MAX_NAME_CHARS = 64
_TOP_KEYS = frozenset({"zones", "lines", "units"})
_ZONE_KEYS = frozenset({"name", "polygon"})
_LINE_KEYS = frozenset({"name", "points"})
# Coordinates far past any frame are refused before any arithmetic on them.
_MAX_COORD = 1_000_000.0

Point = tuple[float, float]


@dataclass(frozen=True)
class ZoneLimits:
    """The bounds of one `zones` option (settings VIDEO_JOBS_ZONES_MAX_*)."""

    max_bytes: int = 16 * 1024
    max_zones: int = 16
    max_lines: int = 16
    max_points: int = 64


@dataclass(frozen=True)
class Zone:
    name: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[Point, Point]


@dataclass(frozen=True)
class ZoneSpec:
    zones: tuple[Zone, ...] = ()
    lines: tuple[Line, ...] = ()
    units: str = "px"

    def to_dict(self) -> dict[str, Any]:
        return {
            "zones": [
                {"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in self.zones
            ],
            "lines": [
                {"name": li.name, "points": [list(p) for p in li.points]} for li in self.lines
            ],
            "units": self.units,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZoneSpec:
        """A stored spec (already validated at submit)."""
        return cls(
            zones=tuple(
                Zone(z["name"], tuple((float(x), float(y)) for x, y in z["polygon"]))
                for z in data.get("zones", ())
            ),
            lines=tuple(
                Line(li["name"], _pair(tuple((float(x), float(y)) for x, y in li["points"])))
                for li in data.get("lines", ())
            ),
            units=data.get("units", "px"),
        )

    def in_pixels(self, width: int, height: int) -> ZoneSpec:
        """The same geometry in the frame's pixels."""
        if self.units == "px":
            return self
        sx, sy = float(width), float(height)
        return ZoneSpec(
            zones=tuple(
                Zone(z.name, tuple((x * sx, y * sy) for x, y in z.polygon)) for z in self.zones
            ),
            lines=tuple(
                Line(li.name, _pair(tuple((x * sx, y * sy) for x, y in li.points)))
                for li in self.lines
            ),
            units="px",
        )


def parse_zones(text: str | None, limits: ZoneLimits | None = None) -> ZoneSpec | None:
    """The option's JSON text as a spec; InvalidOptions names the zone or line at fault."""
    if text is None or not text.strip():
        return None
    limits = limits or ZoneLimits()
    size = len(text.encode())
    if size > limits.max_bytes:
        raise InvalidOptions(
            f"zones is {size} bytes of JSON; at most {limits.max_bytes} are accepted"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOptions(f"zones is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except ValueError:
        raise InvalidOptions("zones is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidOptions(
            'zones must be a JSON object: {"zones": [...], "lines": [...], "units"}'
        )
    _no_unknown(data, _TOP_KEYS, "zones")
    units = data.get("units", "px")
    if units not in UNITS:
        raise InvalidOptions(f'zones units must be "px" or "fraction", not {units!r:.40}')
    zones_raw, lines_raw = data.get("zones", []), data.get("lines", [])
    if not isinstance(zones_raw, list) or not isinstance(lines_raw, list):
        raise InvalidOptions('zones: "zones" and "lines" must be JSON arrays')
    if len(zones_raw) > limits.max_zones:
        raise InvalidOptions(f"zones lists {len(zones_raw)} zones; at most {limits.max_zones}")
    if len(lines_raw) > limits.max_lines:
        raise InvalidOptions(f"zones lists {len(lines_raw)} lines; at most {limits.max_lines}")
    if not zones_raw and not lines_raw:
        raise InvalidOptions("zones has no zone and no line")
    names: set[str] = set()
    zones = tuple(_zone(item, i, names, limits) for i, item in enumerate(zones_raw))
    lines = tuple(_line(item, i, names) for i, item in enumerate(lines_raw))
    spec = ZoneSpec(zones, lines, units)
    if units == "fraction":
        check_in_frame(spec, 1.0, 1.0)
    return spec


def check_in_frame(spec: ZoneSpec, width: float, height: float) -> None:
    """Every point inside the frame (0..width, 0..height, edges included)."""
    unit = "" if spec.units == "px" else " (as fractions, 0..1)"
    w, h = (1.0, 1.0) if spec.units == "fraction" else (width, height)
    for kind, name, points in (
        *(("zone", z.name, z.polygon) for z in spec.zones),
        *(("line", li.name, li.points) for li in spec.lines),
    ):
        for x, y in points:
            if not (0 <= x <= w and 0 <= y <= h):
                raise InvalidOptions(
                    f"{kind} {name!r}: point [{x:g}, {y:g}] is outside the frame "
                    f"({w:g} x {h:g}{unit})"
                )


def _no_unknown(data: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidOptions(
            f"{where}: unknown key(s) {', '.join(repr(k[:40]) for k in unknown[:5])}; "
            f"known: {', '.join(sorted(known))}"
        )


def _name(item: dict[str, Any], kind: str, index: int, names: set[str]) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_CHARS:
        raise InvalidOptions(
            f"{kind} {index}: name must be text of 1 to {MAX_NAME_CHARS} characters"
        )
    name = name.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidOptions(f"{kind} {index}: name must not contain control characters")
    if name in names:
        raise InvalidOptions(
            f"{kind} {name!r}: the name is used twice (zone and line names are unique)"
        )
    names.add(name)
    return name


def _points(raw: Any, kind: str, name: str) -> list[Point]:
    if not isinstance(raw, list):
        raise InvalidOptions(f"{kind} {name!r}: points must be a list of [x, y]")
    points = []
    for p in raw:
        if (
            not isinstance(p, list)
            or len(p) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            or not all(-_MAX_COORD <= v <= _MAX_COORD for v in p)
        ):
            raise InvalidOptions(f"{kind} {name!r}: each point must be [x, y] with two numbers")
        points.append((float(p[0]), float(p[1])))
    return points


def _zone(item: Any, index: int, names: set[str], limits: ZoneLimits) -> Zone:
    if not isinstance(item, dict):
        raise InvalidOptions(f'zone {index} must be an object {{"name", "polygon"}}')
    name = _name(item, "zone", index, names)
    _no_unknown(item, _ZONE_KEYS, f"zone {name!r}")
    points = _points(item.get("polygon"), "zone", name)
    if not 3 <= len(points) <= limits.max_points:
        raise InvalidOptions(
            f"zone {name!r}: a polygon has 3 to {limits.max_points} points, not {len(points)}"
        )
    if _self_intersecting(points):
        raise InvalidOptions(f"zone {name!r}: the polygon crosses itself")
    if abs(_area(points)) < 1e-12:
        raise InvalidOptions(f"zone {name!r}: the polygon has no area")
    return Zone(name, tuple(points))


def _line(item: Any, index: int, names: set[str]) -> Line:
    if not isinstance(item, dict):
        raise InvalidOptions(f'line {index} must be an object {{"name", "points"}}')
    name = _name(item, "line", index, names)
    _no_unknown(item, _LINE_KEYS, f"line {name!r}")
    points = _points(item.get("points"), "line", name)
    if len(points) != 2:
        raise InvalidOptions(f"line {name!r}: a line has exactly 2 points, not {len(points)}")
    if points[0] == points[1]:
        raise InvalidOptions(f"line {name!r}: its two points are the same")
    return Line(name, (points[0], points[1]))


def _pair(points: tuple[Point, ...]) -> tuple[Point, Point]:
    return points[0], points[1]


def _area(points: list[Point]) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)
    )


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_intersect(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Closed segments ab and cd share a point."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 and o2 < 0) or (o1 < 0 and o2 > 0)) and (
        (o3 > 0 and o4 < 0) or (o3 < 0 and o4 > 0)
    ):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def _self_intersecting(points: list[Point]) -> bool:
    """Any two edges that are not neighbours touch (at most 64 points: 2k pairs)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if segments_intersect(*edges[i], *edges[j]):
                return True
    return False
