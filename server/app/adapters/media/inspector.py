"""VideoInspector on the header-only MP4 probe."""

from __future__ import annotations

from app.adapters.media.mp4_probe import probe_mp4
from app.domain.ports import VideoHeader, VideoInspector


class Mp4Inspector(VideoInspector):
    def inspect(self, path: str) -> VideoHeader:
        info = probe_mp4(path, keyframes=False)  # sizes and counts only
        video = info.video
        if video is None:
            return VideoHeader(has_video=False, has_audio=info.has_audio)
        return VideoHeader(
            has_video=True,
            has_audio=info.has_audio,
            width=video.width,
            height=video.height,
            frame_count=video.frame_count,
            duration_s=video.duration_s,
            codec=video.codec,
        )
