"""Generated MP4 clips for the benchmark (generation time is never measured).

The clip must cost what a real one costs: a textured, panning background (so the codec
has real work and background subtraction sees real change), moving objects, a face
(skimage's astronaut) and a QR code (segno), and a few hard cuts between shots.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import segno
import skimage.data

FPS = 25.0
SHOT_FRAMES = 100  # a hard cut every SHOT_FRAMES frames


def write_mp4(path: Path, frames: Iterator[np.ndarray], size: tuple[int, int]) -> Path:
    """Write BGR frames with OpenCV's mp4v encoder (it writes `ftyp` at byte 4)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV could not open an mp4v VideoWriter")
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    return path


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


def _backdrops(width: int, height: int) -> list[np.ndarray]:
    """One wide still per shot (twice the frame width, so it can pan): photographs that
    ship with scikit-image, and a coarse colour texture."""
    rng = np.random.default_rng(3)
    size = (2 * width, height)
    photos = [skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    stills = [cv2.resize(_bgr(p), size, interpolation=cv2.INTER_CUBIC) for p in photos]
    texture = rng.integers(0, 256, (height // 12, width // 6, 3), dtype=np.uint8)
    stills.insert(1, cv2.resize(texture, size, interpolation=cv2.INTER_CUBIC))
    return stills


def _qr_patch(text: str, module: int) -> np.ndarray:
    matrix = np.pad(np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8), 4)
    grey: np.ndarray = np.where(matrix == 1, 0, 255).astype(np.uint8)
    grey = cv2.resize(grey, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _paste(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Paste `patch` with its top-left at (x, y), clipped to the canvas."""
    h, w = patch.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]


def scene_frames(
    count: int, width: int, height: int, shot_len: int = SHOT_FRAMES
) -> Iterator[np.ndarray]:
    """`count` frames: shots of `shot_len` frames on their own still, the camera fixed in
    even shots and panning in odd ones, with a face, a QR code and two textured blocks
    moving over it, and fresh sensor noise on every frame."""
    rng = np.random.default_rng(11)
    stills = _backdrops(width, height)
    face_side = max(32, min(height // 2, 360))
    face = cv2.resize(_bgr(skimage.data.astronaut()), (face_side, face_side))
    qr = _qr_patch("video-jobs benchmark", max(2, width // 256))
    block_side = max(8, height // 8)
    blocks = [
        cv2.resize(
            rng.integers(0, 256, (6, 6, 3), dtype=np.uint8),
            (block_side, block_side),
            interpolation=cv2.INTER_NEAREST,
        )
        for _ in range(2)
    ]
    for i in range(count):
        shot = i // shot_len
        still = stills[shot % len(stills)]
        pan = (3 * (i % shot_len)) % width if shot % 2 else 0
        frame = still[:, pan : pan + width].copy()
        _paste(frame, face, width // 2 + (2 * i) % (width // 4), height // 8)
        _paste(frame, qr, width // 16, height - qr.shape[0] - height // 16)
        for k, block in enumerate(blocks):
            x = (40 + (7 + 3 * k) * i) % max(1, width - block_side)
            y = height // 3 + k * height // 4
            _paste(frame, block, x, y)
        noise = rng.integers(-3, 4, frame.shape, dtype=np.int16)
        yield np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def make_scene_clip(path: Path, count: int, width: int, height: int) -> Path:
    return write_mp4(path, scene_frames(count, width, height), (width, height))


def make_tiny_clip(path: Path, count: int = 1, width: int = 64, height: int = 48) -> Path:
    """A small clip for queue and end-to-end figures: the pipeline itself costs ~nothing."""
    rng = np.random.default_rng(5)
    frames = (rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count))
    return write_mp4(path, frames, (width, height))
