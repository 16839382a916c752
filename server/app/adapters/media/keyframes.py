"""KeyframeIndex on the header-only MP4 probe: where a video's keyframes start.

Sync-sample numbers become times at the track's mean frame rate (frames / duration):
exact for constant-rate video, the usual case for what cameras and encoders write; a
variable-rate file gets cuts near, not on, a keyframe, which costs the decoder a few
frames of a group of pictures at a segment's start and changes no result.
"""

from __future__ import annotations

from app.adapters.media.mp4_probe import probe_mp4
from app.domain.segments import KeyframeIndex, VideoKeyframes


class Mp4KeyframeIndex(KeyframeIndex):
    def read(self, path: str) -> VideoKeyframes:
        video = probe_mp4(path).video
        if video is None or not video.duration_s:
            return VideoKeyframes(None, None)
        fps = video.frame_count / video.duration_s if video.frame_count else None
        if video.sync_samples is None or not fps:
            return VideoKeyframes(video.duration_s, None, fps, video.frame_count)
        times = [index / fps for index in video.sync_samples]
        return VideoKeyframes(video.duration_s, times, fps, video.frame_count)
