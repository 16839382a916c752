"""Each shot's keyframe JPEG and the runs of black frames, taken while frames still
carry their pictures.

The summary sink is fed by the end-of-job pass, which replays stored results without
images, so what needs the picture is done here, during the frame loop: a shot's keyframe
is written as `<job_id>_shot<i>.jpg` when the next shot begins (or the video ends), and
only its frame number and time are kept (a few numbers per shot). The summary sink asks
for them through `finish()` when it closes.

A split job's merge has no pictures to show this sink; it is given the segments'
keyframes and black runs instead (`pictures_given`) and copies each keyframe file under
the parent's id, so the summary and the contact sheet read them as for any job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.adapters.exports.keyframes import KeyframePicker
from app.domain.frames import Frame, FrameSink
from app.domain.model import shot_keyframe_key
from app.domain.ports import StorageService
from app.domain.segment_pictures import SegmentPictures
from app.domain.summary import BlackSegments


class ShotPicturesSink(FrameSink):
    """Writes keyframes as shots end; holds each shot's keyframe time and the black runs."""

    def __init__(self, storage: StorageService, job_id: uuid.UUID, width: int = 320) -> None:
        self.storage = storage
        self.job_id = job_id
        self.picker = KeyframePicker(width)
        self.black = BlackSegments()
        self.keyframes: dict[int, dict[str, int]] = {}  # shot index -> keyframe's time
        self._shot: int | None = None
        self._finished = False
        self._given_black: list[dict[str, int]] | None = None

    def add(self, frame: Frame) -> None:
        if self._shot is not None and frame.shot != self._shot:
            self._write_keyframe(self._shot)
        self._shot = frame.shot
        self.picker.add(frame)
        self.black.add(frame.index, frame.timestamp_ms, bool(frame.look and frame.look.blank))

    def _write_keyframe(self, shot: int) -> None:
        keyframe = self.picker.take()
        if keyframe is None:
            return
        self.storage.save_file(shot_keyframe_key(self.job_id, shot), [keyframe.jpeg])
        self.keyframes[shot] = keyframe.to_dict()

    def pictures_given(self, pictures: SegmentPictures) -> None:
        for shot, source in sorted(pictures.keyframes.items()):
            if shot in self.keyframes or not self.storage.exists(source.key):
                continue
            self.storage.save_file(
                shot_keyframe_key(self.job_id, shot), [self.storage.load_file(source.key)]
            )
            self.keyframes[shot] = dict(source.keyframe)
        self._given_black = [dict(run) for run in pictures.black_segments]

    def finish(self) -> list[dict[str, int]]:
        """The last shot's keyframe written (once); the black runs found."""
        if not self._finished:
            self._finished = True
            if self._shot is not None:
                self._write_keyframe(self._shot)
            found = self.black.finish()
            self._segments = found if self._given_black is None else self._given_black
        return self._segments

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self.finish()

    def abort(self) -> None:
        for shot in self.keyframes:
            self.storage.delete_file(shot_keyframe_key(self.job_id, shot))
        self.keyframes.clear()
