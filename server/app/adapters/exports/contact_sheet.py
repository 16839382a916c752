"""`<job_id>_contact_sheet.jpg`: every shot's keyframe in one JPEG grid, to skim a
video without playing it.

Built at close from the keyframe files the summary sink wrote as each shot ended (it
closes first), one at a time, so memory is the sheet itself. A video with more shots
than MAX_TILES gets that many, evenly spread over its shots.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from app.adapters.exports.base import ExportSink
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.model import shot_keyframe_key
from app.domain.ports import StorageService

COLUMNS = 6
TILE_WIDTH = 192
MAX_TILES = 120
GAP = 4


class ContactSheetSink(ExportSink):
    writes = ("contact_sheet.jpg",)

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self.storage, self.job_id = storage, job_id
        self.key = EXPORT_BY_NAME["contact_sheet.jpg"].key(job_id)
        self._shots = 0

    def add(self, frame: Frame) -> None:
        self._shots = max(self._shots, frame.shot + 1)

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        count = min(self._shots, MAX_TILES)
        if count == 0:
            return
        shots = sorted({round(i * (self._shots - 1) / max(count - 1, 1)) for i in range(count)})
        tiles = [self._tile(i) for i in shots]
        height = max((t.shape[0] for t in tiles if t is not None), default=TILE_WIDTH * 9 // 16)
        rows = -(-len(tiles) // COLUMNS)
        columns = min(COLUMNS, len(tiles))
        sheet = np.full(
            (rows * (height + GAP) + GAP, columns * (TILE_WIDTH + GAP) + GAP, 3), 24, np.uint8
        )
        for n, tile in enumerate(tiles):
            if tile is None:
                continue
            y, x = GAP + (n // COLUMNS) * (height + GAP), GAP + (n % COLUMNS) * (TILE_WIDTH + GAP)
            h = min(tile.shape[0], height)
            sheet[y : y + h, x : x + tile.shape[1]] = tile[:h]
        ok, data = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            self.storage.save_file(self.key, [data.tobytes()])

    def _tile(self, shot: int) -> np.ndarray | None:
        key = shot_keyframe_key(self.job_id, shot)
        if not self.storage.exists(key):
            return None
        image = cv2.imdecode(np.frombuffer(self.storage.load_file(key), np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        height = max(1, round(image.shape[0] * TILE_WIDTH / image.shape[1]))
        return cv2.resize(image, (TILE_WIDTH, height), interpolation=cv2.INTER_AREA)

    def abort(self) -> None:
        self.storage.delete_file(self.key)
