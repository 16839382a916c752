"""One long video as segments: when to split, where the cuts fall, the segment jobs.

A parent job whose video is longer than `SplitPolicy.min_s` is cut, when a worker claims
it, into segments of about `segment_s` seconds. Each segment starts on a keyframe (a
decoder seeks there without decoding the previous group of pictures) and runs
`overlap_s` past the next one's start, so a track that crosses the seam is seen by both
segments for longer than the tracker's gap window (1 s, `max_gap_ms` in
adapters/pipeline/tracking.py) and the merge can match it on the shared frames.
Planning is pure: the keyframe times come from the MP4 index (`KeyframeIndex`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.domain.model import Job, JobStatus, new_job_id, utcnow
from app.domain.options import AnalysisOptions
from app.domain.time_range import planned_frames


@dataclass(frozen=True)
class SplitPolicy:
    """VIDEO_JOBS_SPLIT_MIN_S (0: never split), _SEGMENT_S and _SEGMENT_OVERLAP_S."""

    min_s: float = 600.0
    segment_s: float = 120.0
    overlap_s: float = 3.0

    @property
    def enabled(self) -> bool:
        return self.min_s > 0


@dataclass(frozen=True)
class VideoKeyframes:
    """A video's duration and the times its keyframes start (None: every frame is
    one, as for intra-only codecs); `fps` places a cut half a frame before a keyframe."""

    duration_s: float | None
    keyframes_s: Sequence[float] | None
    fps: float | None = None
    frame_count: int | None = None  # declared: each segment's frames_total estimate


class KeyframeIndex(ABC):
    """Reads where a stored video's keyframes are, from its header (no decode)."""

    @abstractmethod
    def read(self, path: str) -> VideoKeyframes: ...


@dataclass(frozen=True)
class SegmentRange:
    """Segment `index` analyses [start_s, end_s) (end None: to the end of the video);
    `seam_s` is where the next segment starts (None for the last)."""

    index: int
    start_s: float
    end_s: float | None
    seam_s: float | None


def plan_segments(
    keyframes: VideoKeyframes, policy: SplitPolicy, options: AnalysisOptions
) -> list[SegmentRange]:
    """The segments of a job's time range, or [] when it should not be split (short,
    splitting off, or no duration known). Cuts are spread evenly (about `segment_s`
    apart), each moved back to the keyframe at or before it; a cut that would fall
    within a quarter segment (at least `overlap_s`) of the previous one or of the end
    is dropped, so no segment is a stub, nor all overlap."""
    duration = keyframes.duration_s
    if not (policy.enabled and options.split and duration):
        return []
    start = options.start_s or 0.0
    end = duration if options.end_s is None else min(options.end_s, duration)
    span = end - start
    if span <= policy.min_s or span <= policy.segment_s:
        return []
    count = max(1, round(span / policy.segment_s))
    shortest = max(policy.overlap_s, policy.segment_s / 4)
    seams: list[float] = []
    for k in range(1, count):
        seam = _keyframe_at_or_before(keyframes, start + span * k / count)
        previous = seams[-1] if seams else start
        if seam - previous >= shortest and end - seam >= shortest:
            seams.append(seam)
    if not seams:
        return []
    starts = [start, *seams]
    ranges = []
    for i, segment_start in enumerate(starts):
        next_start = starts[i + 1] if i + 1 < len(starts) else None
        seg_end = options.end_s if next_start is None else min(next_start + policy.overlap_s, end)
        ranges.append(
            SegmentRange(i, _seek_point(keyframes, segment_start, i), seg_end, next_start)
        )
    return ranges


def _keyframe_at_or_before(keyframes: VideoKeyframes, t: float) -> float:
    times = keyframes.keyframes_s
    if times is None:
        return t
    before = [k for k in times if k <= t]
    return max(before) if before else 0.0


def _seek_point(keyframes: VideoKeyframes, start: float, index: int) -> float:
    """Where segment `index` starts reading: half a frame before its keyframe, so the
    keyframe's own timestamp (rounded by the container) is never before the start."""
    if index == 0 or not keyframes.fps:
        return start
    return max(0.0, start - 0.5 / keyframes.fps)


def segment_jobs(
    parent: Job, ranges: Sequence[SegmentRange], video: VideoKeyframes | None = None
) -> list[Job]:
    """The pending segment rows of a parent: same upload (read from the parent's key),
    pipeline and options, with their own time range and sampling slots counted from
    the parent's start. No callback_url, tag or idempotency key: a segment notifies
    nobody and is found through its parent. Each starts with the frames it will
    analyse estimated from the header (`video`), so the parent's summed progress has a
    total from the start."""
    options = AnalysisOptions.from_dict(parent.options)
    now = utcnow()
    jobs = []
    for r in ranges:
        seg_options = replace(
            options, start_s=r.start_s, end_s=r.end_s, slots_from_s=options.start_s or 0.0
        )
        jobs.append(
            Job(
                job_id=new_job_id(),
                pipeline_id=parent.pipeline_id,
                input_path=parent.input_path,
                status=JobStatus.PENDING,
                created_at=now,
                updated_at=now,
                options=seg_options.to_dict(),
                frames_total=planned_frames(
                    seg_options,
                    video.frame_count if video else None,
                    video.duration_s if video else None,
                ),
                filename=parent.filename,
                parent_id=parent.job_id,
                segment_index=r.index,
                segments_total=len(ranges),
            )
        )
    return jobs


def clock(seconds: float | None) -> str:
    """m:ss (or h:mm:ss) for a segment's place in a failure message."""
    if seconds is None:
        return "end"
    whole = math.floor(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def segment_failure_message(segment: Job) -> str:
    """The parent's error when a segment fails for good: which one, where, and why."""
    options = AnalysisOptions.from_dict(segment.options)
    where = f"{clock(options.start_s)}\u2013{clock(options.end_s)}"
    index = (segment.segment_index or 0) + 1
    reason = segment.error_message or "no reason"
    return f"segment {index}/{segment.segments_total} ({where}) failed: {reason}"


@dataclass(frozen=True)
class SegmentCounts:
    """What a split job's status shows of its segments."""

    total: int
    completed: int
    running: int
    failed: int


def with_segments(parent: Job, segments: Sequence[Job]) -> tuple[Job, SegmentCounts]:
    """The parent as its status shows it: while it runs, its progress is its segments'
    summed (frames done, frames to do once every segment's is known, and the rate of
    those running), so the ETA is the whole job's; finished, the merge's own figures."""
    counts = SegmentCounts(
        total=parent.segments_total or len(segments),
        completed=sum(s.status is JobStatus.COMPLETED for s in segments),
        running=sum(s.status is JobStatus.RUNNING for s in segments),
        failed=sum(s.status is JobStatus.FAILED for s in segments),
    )
    if parent.status is not JobStatus.RUNNING or not segments:
        return parent, counts
    totals = [s.frames_total for s in segments]
    rates = [s.processing_fps or 0.0 for s in segments if s.status is JobStatus.RUNNING]
    shown = replace(
        parent,
        frames_done=sum(s.frames_done for s in segments),
        frames_total=None if None in totals else sum(t or 0 for t in totals),
        processing_fps=round(sum(rates), 2) if any(rates) else None,
    )
    return shown, counts
