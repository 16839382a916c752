"""Zones and lines drawn on the annotated video, with their live counts.

A zone is its outline with "<name>: <n> in zone"; a line is drawn with a short arrow at
its middle pointing to its "in" side (where s > 0) and "<name>: in <a> out <b>". Sizes
follow annotator.style_for, so captions match the boxes' captions.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from app.adapters.exports.annotator import FONT, style_for
from app.domain.zone_events import ZoneTotals
from app.domain.zones import ZoneSpec

ZONE_COLOUR = (255, 200, 0)  # BGR: light blue
LINE_COLOUR = (0, 0, 255)  # red


def draw_zones(image: np.ndarray, spec: ZoneSpec, totals: ZoneTotals, scale: float) -> None:
    """In place; `spec` in the frame's pixels, `scale` maps them to `image` pixels."""
    style = style_for(image.shape[1], image.shape[0])
    thickness = max(2, style.line)
    for zone in spec.zones:
        points = np.array([[round(x * scale), round(y * scale)] for x, y in zone.polygon])
        cv2.polylines(image, [points.astype(np.int32)], True, ZONE_COLOUR, thickness)
        top = min(range(len(points)), key=lambda i: (points[i][1], points[i][0]))
        _caption(image, f"{zone.name}: {totals.occupancy(zone.name)} in zone", points[top], style)
    for line in spec.lines:
        (x0, y0), (x1, y1) = ((x * scale, y * scale) for x, y in line.points)
        a, b = (round(x0), round(y0)), (round(x1), round(y1))
        cv2.line(image, a, b, LINE_COLOUR, thickness, cv2.LINE_AA)
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        # The normal towards s > 0 (image y down): (-dy, dx) / length.
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        reach = max(12.0, 0.04 * image.shape[0])
        tip = (round(mx + nx * reach), round(my + ny * reach))
        cv2.arrowedLine(image, (round(mx), round(my)), tip, LINE_COLOUR, thickness, tipLength=0.4)
        count_in, count_out = totals.line_count(line.name)
        _caption(image, f"{line.name}: in {count_in} out {count_out}", a, style)


def _caption(image: np.ndarray, text: str, at, style) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, style.font_scale, style.text_thickness)
    x = int(min(max(at[0], 0), max(image.shape[1] - tw - 4, 0)))
    y = int(min(max(at[1] - th - base - 2, 0), max(image.shape[0] - th - base - 2, 0)))
    cv2.rectangle(image, (x, y), (x + tw + 4, y + th + base + 2), (0, 0, 0), -1)
    cv2.putText(
        image,
        text,
        (x + 2, y + th + 1),
        FONT,
        style.font_scale,
        (255, 255, 255),
        style.text_thickness,
        cv2.LINE_AA,
    )
