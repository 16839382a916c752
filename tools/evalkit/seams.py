"""Tracks across forced seams: a split job's merged tracks against the unsplit job's.

OpenCV's vtest.avi (people walking, 10 fps, 795 frames) runs through the worker as
`people` jobs would: once whole, and once as segments of 10 s, each overlapping the
next by 3 s (the default) or 1 s, every one a job of its own (`run_claimed_job` with
`start_s`/`end_s`), then merged (server/app/domain/segment_merge.py). The reference is
the unsplit run, not a truth drawn by eye: the question is whether splitting changes
identities, and the unsplit tracker is what a user gets without it.

A track of the unsplit run crosses a seam when it has boxes in the second before the
seam (the last frame the merge took from the earlier segment) and in the second after.
Each of its boxes there is paired with the merged box of the same frame at IoU >= 0.5;
it keeps one id when the merged id most of its boxes carry is the same before and after.
Also reported: the share of frames whose detections (boxes and labels, ids aside) are
the same as unsplit (detection every 3rd frame is counted from frame 0, so the later
segment detects on the unsplit run's frames; its tracker, starting cold, still makes
some frames after a seam differ).

Run alone: `cd tools && PYTHONPATH=../server ../.venv/bin/python -m evalkit.seams`
(prints the section); `make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CLIP = "opencv/vtest.avi"
PIPELINE = "people"
SEGMENT_S = 10.0
OVERLAPS_S = (3.0, 1.0)
WINDOW_S = 1.0
PAIR_IOU = 0.5
TARGET = 0.95


class _Bench:
    """A temporary data dir, the in-memory job table, the worker's runner and sinks."""

    def __init__(self, root: Path, video: Path) -> None:
        from app.adapters.db.in_memory import InMemoryJobRepository
        from app.adapters.storage.filesystem import FilesystemStorage
        from app.bootstrap import build_export_sinks, build_runner
        from app.settings import Settings

        settings = Settings(_env_file=None, data_dir=root)
        self.storage = FilesystemStorage(root / "files", data_dir=root)
        self.jobs = InMemoryJobRepository()
        self.runner = build_runner(settings)
        self.sinks = build_export_sinks(settings, self.storage)
        self.video = video

    def job(self, options: dict[str, Any] | None = None) -> Any:
        from app.domain.model import Job, input_key

        job_id = uuid.uuid4()
        return Job(job_id, PIPELINE, input_key(job_id), options=options or {})

    def run(self, job: Any) -> None:
        from app.domain.job_runs import run_claimed_job
        from app.domain.model import JobStatus, input_key
        from app.domain.services import claim_job

        self.storage.save_file(input_key(job.job_id), [self.video.read_bytes()])
        self.jobs.add(job)
        claimed = claim_job(self.jobs, job.job_id)
        assert claimed is not None
        status = run_claimed_job(
            claimed, jobs=self.jobs, storage=self.storage, runner=self.runner,
            export_sinks=self.sinks,
        )  # fmt: skip
        if status is not JobStatus.COMPLETED:
            raise RuntimeError(f"{job.options}: {self.jobs.get(job.job_id)}")

    def items(self, job: Any) -> list[dict[str, Any]]:
        from app.domain.model import results_lines_key

        data = self.storage.load_file(results_lines_key(job.job_id))
        return [json.loads(line) for line in data.splitlines()]


def _split_and_merge(bench: _Bench, duration_s: float, overlap_s: float) -> tuple[Any, list]:
    from app.domain.segment_files import SegmentFiles
    from app.domain.segment_merge import merge_segments
    from app.domain.segment_seams import find_seam

    parent = bench.job()
    segments, start = [], 0.0
    while start < duration_s:
        options: dict[str, Any] = {"start_s": start}
        if start + SEGMENT_S < duration_s:
            options["end_s"] = start + SEGMENT_S + overlap_s
        segment = bench.job(options)
        bench.run(segment)
        segments.append(segment)
        start += SEGMENT_S
    merge_segments(
        parent, segments, storage=bench.storage, export_sinks=bench.sinks,
        confirmation=None, overlap_s=overlap_s,
    )  # fmt: skip
    files = [SegmentFiles(bench.storage, s.job_id) for s in segments]
    seams = [find_seam(a, b).last_kept for a, b in pairwise(files)]
    return parent, seams


def _boxes(items: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    return {item["frame_index"]: item["result"].get("detections") or [] for item in items}


def _merged_id(detection: dict[str, Any], merged: list[dict[str, Any]]) -> int | None:
    from app.domain.detections import box_iou

    best = max(
        (box_iou(detection["bbox"], m["bbox"]), m.get("track_id"))
        for m in merged
        if m["label"] == detection["label"]
    ) if merged else (0.0, None)  # fmt: skip
    return best[1] if best[0] >= PAIR_IOU else None


def score_seams(
    whole: list[dict[str, Any]], merged: list[dict[str, Any]], seams: list[int], fps: float
) -> tuple[int, int]:
    """(tracks of the unsplit run crossing a seam, of which keep one merged id)."""
    window = max(1, round(WINDOW_S * fps))
    ours, theirs = _boxes(merged), _boxes(whole)
    crossing = kept = 0
    for seam in seams:
        sides: dict[int, tuple[Counter, Counter]] = {}
        for frame in range(seam - window + 1, seam + window + 1):
            for detection in theirs.get(frame, ()):
                track_id = detection.get("track_id")
                if track_id is None or detection.get("confirmed") is False:
                    continue
                before, after = sides.setdefault(track_id, (Counter(), Counter()))
                merged_id = _merged_id(detection, ours.get(frame, []))
                (before if frame <= seam else after)[merged_id] += 1
        for before, after in sides.values():
            if not before or not after:
                continue
            crossing += 1
            kept += before.most_common(1)[0][0] is not None and (
                before.most_common(1)[0][0] == after.most_common(1)[0][0]
            )
    return crossing, kept


def _same_frames(whole: list[dict[str, Any]], merged: list[dict[str, Any]]) -> float:
    def plain(item: dict[str, Any]) -> list[tuple]:
        found = item["result"].get("detections") or []
        return sorted((d["label"], tuple(d["bbox"])) for d in found)

    same = sum(1 for a, b in zip(whole, merged, strict=False) if plain(a) == plain(b))
    return same / max(len(whole), 1)


def rows() -> list[list[str]]:
    import cv2

    from evalkit.materials import source_path

    video = source_path(CLIP)
    capture = cv2.VideoCapture(str(video))
    fps, frames = capture.get(cv2.CAP_PROP_FPS) or 25.0, capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    out = []
    with tempfile.TemporaryDirectory() as root:
        bench = _Bench(Path(root), video)
        whole = bench.job()
        bench.run(whole)
        whole_items = bench.items(whole)
        for overlap_s in OVERLAPS_S:
            parent, seams = _split_and_merge(bench, frames / fps, overlap_s)
            merged = bench.items(parent)
            crossing, kept = score_seams(whole_items, merged, seams, fps)
            share = kept / crossing if crossing else 1.0
            out.append(
                [
                    f"{CLIP}, every {SEGMENT_S:g} s",
                    f"{overlap_s:g} s",
                    str(len(seams)),
                    str(crossing),
                    str(kept),
                    f"{share:.1%}" + (" ✓" if share >= TARGET else " ✗"),
                    f"{_same_frames(whole_items, merged):.1%}",
                    f"{len(merged)} / {len(whole_items)}",
                ]
            )
    return out


def section() -> str:
    """The seams section of docs/accuracy.md (appended by tools/eval.py)."""
    header = [
        "clip, seams",
        "overlap",
        "seams",
        "tracks crossing a seam",
        "keep one id",
        "share",
        "frames with unsplit detections",
        "frames merged / unsplit",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in rows()]
    return "\n".join(
        [
            "",
            f"## split jobs: tracks across seams (target: >= {TARGET:.0%} keep one id)",
            "",
            f"`{PIPELINE}` on {CLIP}, once whole and once split at forced seams every",
            f"{SEGMENT_S:g} s (each segment its own job, then merged). A track of the",
            f"unsplit run crosses a seam when it has boxes within {WINDOW_S:g} s on both",
            "sides of it; it keeps one id when its boxes there (paired with the merged",
            f"run's at IoU >= {PAIR_IOU}) carry one merged id on both sides. The reference is",
            "the unsplit run (tools/evalkit/seams.py).",
            "",
            *table,
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    sys.path.insert(0, str(REPO / "tools"))
    print(section())
