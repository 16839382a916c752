"""QR codes: find them on a small copy of the frame, decode them at full resolution.

Locating codes is what costs on most frames (most frames hold none), so it runs on a
downscaled grey copy with OpenCV's ArUco-based QR finder (QRCodeDetectorAruco, same
detect/decode API as QRCodeDetector, steadier on rotated and small codes and far
cheaper on code-free frames). Each code found is then decoded from a full-resolution
crop around it, first with that detector and then with the classic QRCodeDetector,
so fine modules lost by the downscale still decode. Codes found but not decoded are
not reported: the contract's `text` is always the decoded payload.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.adapters.pipeline.boxes import iou
from app.adapters.pipeline.steps.base import FrameStep, add_detection, downscale, to_gray
from app.domain.frames import Frame


def corners_box(points: np.ndarray, dx: int = 0, dy: int = 0) -> list[int]:
    """Axis-aligned [x, y, w, h] around a code's corner points, shifted by (dx, dy)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x0, y0 = np.floor(pts.min(axis=0))
    x1, y1 = np.ceil(pts.max(axis=0))
    return [int(x0) + dx, int(y0) + dy, int(x1 - x0), int(y1 - y0)]


class QrStep(FrameStep):
    """Options: `max_width` width the codes are searched at (0 = full size); a code's
    modules should be about 2 pixels or more at that width. `margin` is the share of a
    code's size added around it when cropping for decoding (room for the quiet zone)."""

    name = "qr"
    label = "qr"
    labels = ("qr",)

    def __init__(self, max_width: int = 640, margin: float = 0.25) -> None:
        if not 0.0 <= float(margin) <= 2.0:
            raise ValueError("margin must be within 0..2")
        self.max_width = int(max_width)
        self.margin = float(margin)
        self._finder = cv2.QRCodeDetectorAruco()
        self._decoders = (self._finder, cv2.QRCodeDetector())

    def process(self, frame: Frame) -> None:
        image = frame.image
        frame.detected()
        gray = to_gray(image)
        small, scale = downscale(gray, self.max_width)
        found, quads = self._finder.detectMulti(small)
        if not found or quads is None:
            return
        decoded: list[tuple[str, list[int]]] = []
        for quad in np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2):
            for text, box in self._decode_around(gray, quad * scale):
                if not any(t == text and iou(b, box) > 0.3 for t, b in decoded):
                    decoded.append((text, box))
        for text, box in decoded:
            add_detection(frame, self.label, box, 1.0, text=text)

    def _decode_around(self, gray: np.ndarray, quad: np.ndarray) -> list[tuple[str, list[int]]]:
        height, width = gray.shape[:2]
        x, y, w, h = corners_box(quad)
        pad = int(self.margin * max(w, h)) + 4
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return []
        crop = gray[y0:y1, x0:x1]  # a view: no copy of the frame
        for decoder in self._decoders:
            try:
                ok, texts, points, _ = decoder.detectAndDecodeMulti(crop)
            except cv2.error:
                continue
            if not ok or points is None:
                continue
            codes = [
                (str(text), corners_box(pts, x0, y0))
                for text, pts in zip(texts, points, strict=False)
                if text
            ]
            if codes:
                return codes
        return []
