"""Synthetic frames with known ground truth, built in memory (no binaries committed)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import segno
import skimage.data

Box = tuple[int, int, int, int]

# Where the astronaut's face is in skimage.data.astronaut() (512x512), checked by eye and
# by running the cascade on the still: the detector's box is about (178, 69, 92, 92).
ASTRONAUT_FACE = (170, 60, 90, 110)


def rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def astronaut() -> np.ndarray:
    return rgb_to_bgr(skimage.data.astronaut())


def textured_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with fine grain: not flat, so 'nothing moved' means something."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(60, 160, width, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp, (height, width, 3)).astype(np.float32)
    grain = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def moving_shape_frames(
    count: int,
    path: Callable[[int], tuple[int, int]],
    size: int = 36,
    width: int = 320,
    height: int = 240,
    textured: bool = True,
    noise: float = 2.0,
    seed: int = 1,
) -> tuple[list[np.ndarray], list[Box]]:
    """A square (textured, like most real objects, or flat-coloured) whose top-left corner
    follows `path(i)`, with fresh sensor noise on every frame. Returns frames and truth."""
    rng = np.random.default_rng(seed)
    background = textured_background(width, height, seed)
    patch: np.ndarray
    if textured:
        patch = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
        patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_NEAREST)
    else:
        patch = np.full((size, size, 3), (20, 200, 240), np.uint8)
    frames, truth = [], []
    for i in range(count):
        x, y = path(i)
        frame = background.copy()
        frame[y : y + size, x : x + size] = patch
        jitter = rng.normal(0, noise, frame.shape)
        frames.append(np.clip(frame + jitter, 0, 255).astype(np.uint8))
        truth.append((x, y, size, size))
    return frames, truth


QUIET_ZONE = 4  # modules of white around a QR code


def qr_code(text: str, module: int) -> np.ndarray:
    """A grey QR code image with its quiet zone, `module` pixels per module."""
    code = segno.make_qr(text, error="m")
    matrix = np.pad(np.array(code.matrix, dtype=np.uint8), QUIET_ZONE)
    image = np.where(matrix == 1, 0, 255).astype(np.uint8)
    return cv2.resize(image, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)


def paste_rotated(
    canvas: np.ndarray,
    patch: np.ndarray,
    centre: tuple[int, int],
    angle: float,
    inset: int = 0,
) -> Box:
    """Paste a grey patch rotated by `angle` degrees, centred at `centre`. Returns the
    axis-aligned box, in canvas pixels, of the patch shrunk by `inset` on every side
    (for a QR code: `inset` = the quiet zone, leaving the box of the code itself)."""
    h, w = patch.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    out_w, out_h = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    matrix[0, 2] += out_w / 2 - w / 2
    matrix[1, 2] += out_h / 2 - h / 2
    rotated = cv2.warpAffine(patch, matrix, (out_w, out_h), borderValue=255)
    mask = cv2.warpAffine(np.full_like(patch, 255), matrix, (out_w, out_h), borderValue=0)
    x0, y0 = centre[0] - out_w // 2, centre[1] - out_h // 2
    region = canvas[y0 : y0 + out_h, x0 : x0 + out_w]
    region[mask > 0] = cv2.cvtColor(rotated, cv2.COLOR_GRAY2BGR)[mask > 0]
    a, b = inset, (w - inset, h - inset)
    corners = np.array([[a, a, 1], [b[0], a, 1], [b[0], b[1], 1], [a, b[1], 1]], np.float64)
    points = corners @ matrix.T + (x0, y0)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    return round(left), round(top), round(right - left), round(bottom - top)


def person_silhouette(canvas: np.ndarray, cx: int, top: int, height: int) -> Box:
    """A dark standing figure (head, torso, arms, legs in human proportions: the head is
    an eighth of the height). Returns its box."""
    u = height / 8.0
    colour = (40, 40, 40)

    def at(dx: float, dy: float) -> tuple[int, int]:
        return round(cx + dx * u), round(top + dy * u)

    cv2.circle(canvas, at(0, 0.5), round(u / 2), colour, -1)
    cv2.rectangle(canvas, at(-0.12, 0.9), at(0.12, 1.2), colour, -1)
    torso = np.array([at(-1.0, 1.2), at(1.0, 1.2), at(0.75, 4.0), at(-0.75, 4.0)], np.int32)
    cv2.fillPoly(canvas, [torso], colour)
    for side in (-1, 1):
        cv2.line(canvas, at(side, 1.4), at(side * 1.15, 4.2), colour, max(1, round(0.35 * u)))
        cv2.line(canvas, at(side * 0.4, 4.0), at(side * 0.55, 7.8), colour, max(1, round(0.55 * u)))
    half = round(1.35 * u)
    return cx - half, top, 2 * half, height


def scene_stills(width: int = 320, height: int = 240, seed: int = 5) -> list[np.ndarray]:
    """Distinct scenes: synthetic (gradient, noise texture, shapes) and photographs that
    ship inside scikit-image (astronaut, coffee, cat, cameraman, rocket)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    gradient = np.dstack([x + 0 * y, y + 0 * x, np.full((height, width), 128.0)])
    texture = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    shapes = np.full((height, width, 3), (30, 120, 30), np.uint8)
    cv2.circle(shapes, (width // 4, height // 2), height // 5, (200, 50, 50), -1)
    cv2.rectangle(shapes, (width // 2, height // 6), (width - 20, height - 40), (20, 20, 220), -1)

    def fit(image: np.ndarray) -> np.ndarray:
        return cv2.resize(rgb_to_bgr(image), (width, height), interpolation=cv2.INTER_AREA)

    return [
        gradient.astype(np.uint8),
        fit(skimage.data.astronaut()),
        cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC),
        fit(skimage.data.coffee()),
        shapes,
        fit(skimage.data.chelsea()),
        fit(skimage.data.camera()),
        fit(skimage.data.rocket()),
    ]


def shot(still: np.ndarray, count: int, variation: str, rng: np.random.Generator) -> list:
    """`count` frames of one shot, never static: sensor noise on every frame plus either a
    slow brightness drift, a small moving disc, or a slow pan (a 1-pixel-per-frame shift)."""
    frames = []
    for i in range(count):
        frame = still.astype(np.int16)
        if variation == "drift":
            frame = frame + int(1.5 * i)
        elif variation == "object":
            cv2.circle(frame, (20 + 6 * i, 30), 10, (255, 255, 255), -1)
        elif variation == "pan":
            frame = np.roll(frame, i, axis=1)
        frame = frame + rng.integers(-4, 5, frame.shape, dtype=np.int16)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def shots_clip(lengths: list[int], seed: int = 9) -> tuple[list[np.ndarray], list[int]]:
    """Shots of the given lengths, one still each; returns frames and the index of the
    first frame of every shot after the first (where the cuts are)."""
    rng = np.random.default_rng(seed)
    stills = scene_stills()
    variations = ("drift", "object", "pan")
    frames: list[np.ndarray] = []
    cuts = []
    for k, length in enumerate(lengths):
        if k:
            cuts.append(len(frames))
        frames += shot(stills[k % len(stills)], length, variations[k % 3], rng)
    return frames, cuts
