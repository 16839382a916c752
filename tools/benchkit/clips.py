"""The benchmark's clips (made before any timing starts) and the one plain decode loop.

A throughput clip must cost what a real one costs: a textured, panning background (so
the codec has real work and background subtraction sees real change), moving objects,
a face (skimage's astronaut), a QR code (segno) and hard cuts between shots. mp4v files
go through the evaluation's writer; H.264 through PyAV's libx264, as phones write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import segno
import skimage.data
from evalkit.camera import paste
from evalkit.materials import source_path
from evalkit.recipes import write_video

FPS = 25.0
SHOT_FRAMES = 100  # a hard cut every SHOT_FRAMES frames
H264_FPS = 30
REAL_SOURCES = ("opencv/vtest.avi", "opencv/Megamind.avi")  # eval material, when installed


def decoded(path: Path) -> Iterator[np.ndarray]:
    """Every frame of a file through OpenCV's plain `read()` loop, on this thread."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield image
    finally:
        capture.release()


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


def _backdrops(width: int, height: int) -> list[np.ndarray]:
    """One wide still per shot (twice the frame width, so it can pan): photographs that
    ship with scikit-image, and a coarse colour texture."""
    size = (2 * width, height)
    photos = [skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    stills = [cv2.resize(_bgr(p), size, interpolation=cv2.INTER_CUBIC) for p in photos]
    texture = np.random.default_rng(3).integers(0, 256, (height // 12, width // 6, 3), np.uint8)
    stills.insert(1, cv2.resize(texture, size, interpolation=cv2.INTER_CUBIC))
    return stills


def _qr_patch(text: str, module: int) -> np.ndarray:
    matrix = np.pad(np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8), 4)
    grey: np.ndarray = np.where(matrix == 1, 0, 255).astype(np.uint8)
    grey = cv2.resize(grey, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    return _bgr(grey)


def scene_frames(count: int, width: int, height: int) -> Iterator[np.ndarray]:
    """`count` frames: shots of SHOT_FRAMES frames on their own still, the camera fixed
    in even shots and panning in odd ones, with a face, a QR code and two textured
    blocks moving over it, and fresh sensor noise on every frame."""
    rng = np.random.default_rng(11)
    stills = _backdrops(width, height)
    face_side = max(32, min(height // 2, 360))
    face = cv2.resize(_bgr(skimage.data.astronaut()), (face_side, face_side))
    qr = _qr_patch("video-jobs benchmark", max(2, width // 256))
    side = max(8, height // 8)
    blocks = [
        cv2.resize(block, (side, side), interpolation=cv2.INTER_NEAREST)
        for block in rng.integers(0, 256, (2, 6, 6, 3), np.uint8)
    ]
    for i in range(count):
        shot = i // SHOT_FRAMES
        pan = (3 * (i % SHOT_FRAMES)) % width if shot % 2 else 0
        frame = stills[shot % len(stills)][:, pan : pan + width].copy()
        paste(frame, face, (width // 2 + (2 * i) % (width // 4), height // 8))
        paste(frame, qr, (width // 16, height - qr.shape[0] - height // 16))
        for k, block in enumerate(blocks):
            x = (40 + (7 + 3 * k) * i) % max(1, width - side)
            paste(frame, block, (x, height // 3 + k * height // 4))
        noise = rng.integers(-3, 4, frame.shape, dtype=np.int16)
        yield np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def make_scene_clip(path: Path, count: int, width: int, height: int) -> Path:
    write_video(path, scene_frames(count, width, height), (width, height), FPS)
    return path


def make_tiny_clip(path: Path, count: int = 1, width: int = 64, height: int = 48) -> Path:
    """A small clip for queue and end-to-end figures: the pipeline itself costs ~nothing."""
    rng = np.random.default_rng(5)
    frames = (rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count))
    write_video(path, frames, (width, height), FPS)
    return path


def make_frame_bomb(path: Path, frames: int) -> Path:
    """`frames` frames of 16x16 at 1000 fps (mp4v): many frames in very few bytes."""
    shades = [np.full((16, 16, 3), value, np.uint8) for value in range(0, 250, 10)]
    write_video(path, (shades[i % len(shades)] for i in range(frames)), (16, 16), 1000.0)
    return path


def real_frames(count: int, size: tuple[int, int], fallback: Path) -> Iterator[np.ndarray]:
    """`count` frames of `size` from the eval's real footage, in turn, else from
    `fallback` (the generated scene clip), looping when a file runs out."""
    sources = [p for p in map(source_path, REAL_SOURCES) if p.is_file()] or [fallback]
    made = 0
    while made < count:
        for path in sources:
            for image in decoded(path):
                if made == count:
                    return
                yield cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
                made += 1


def real_source_names() -> str:
    real = [source_path(n).name for n in REAL_SOURCES if source_path(n).is_file()]
    return " and ".join(real) if real else "the generated scene clip"


def make_h264_clip(
    path: Path, frames: Iterable[np.ndarray], size: tuple[int, int], gop: int | None = None
) -> Path:
    """BGR frames at H264_FPS as H.264 (libx264 `veryfast`, yuv420p) in MP4; `gop` fixes
    the keyframe interval in frames (libx264's default is up to 250, scene cuts add more)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=H264_FPS)
        stream.width, stream.height = size
        stream.pix_fmt, stream.time_base = "yuv420p", Fraction(1, H264_FPS)
        stream.options = {"preset": "veryfast", "crf": "23"}
        if gop is not None:
            stream.options = {**stream.options, "g": str(gop), "keyint_min": str(gop)}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
