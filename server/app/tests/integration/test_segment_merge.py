"""A split job merged equals the unsplit job: the real pipeline on a generated clip, run
once whole and once as three overlapping segments (each through `run_claimed_job`, as
a worker runs it), then merged into a parent from the segments' stored files."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pytest

from app.domain.errors import VideoJobsError
from app.domain.model import Job, JobStatus
from app.domain.segment_merge import merge_segments
from app.tests.fixtures.segments import (
    Bench,
    qr_clip,
    segment_bounds,
    segment_jobs,
    tracks_by_frame,
)

pytestmark = pytest.mark.integration

SECONDS, FPS, OVERLAP_S = 15, 10.0, 3.0
CUTS = (95, 112)  # one cut inside a segment, one inside the second seam's overlap
MERGED_FILES = (
    "results.json",
    "results.jsonl",
    "results.idx",
    "summary.json",
    "detections.csv",
    "tracks.vtt",
    "chapters.vtt",
)


class Split:
    def __init__(self, root: Path) -> None:
        self.clip = qr_clip(root / "clip.mp4", SECONDS, FPS, CUTS)
        self.bench = Bench(root / "data")
        self.whole = self.bench.new_job(self.clip, "qr")
        assert self.bench.run(self.whole, self.clip) is JobStatus.COMPLETED
        self.segments = segment_jobs(self.whole, segment_bounds(SECONDS, 3, OVERLAP_S))
        for segment in self.segments:
            assert self.bench.run(segment, self.clip) is JobStatus.COMPLETED

    def merge(self, parent: Job | None = None) -> Job:
        parent = parent or self.bench.new_job(self.clip, "qr")
        merge_segments(
            parent,
            list(reversed(self.segments)),  # in any order: the merge orders them
            storage=self.bench.storage,
            export_sinks=self.bench.sinks,
            confirmation=None,
            overlap_s=OVERLAP_S,
        )
        return parent

    def summary(self, job: Job) -> dict:
        return json.loads(self.bench.file_bytes(job.job_id, "summary.json"))


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Split:
    return Split(tmp_path_factory.mktemp("split"))


def overlaps() -> list[range]:
    bounds = segment_bounds(SECONDS, 3, OVERLAP_S)
    starts = [start for start, _ in bounds[1:]]
    ends = [end for _, end in bounds[:-1] if end is not None]
    return [range(round(s * FPS), round(e * FPS)) for s, e in zip(starts, ends, strict=True)]


def without_ids(items: list[dict]) -> list[tuple]:
    return [
        (
            item["frame_index"],
            item["timestamp_ms"],
            sorted(
                json.dumps({k: v for k, v in d.items() if k != "track_id"}, sort_keys=True)
                for d in item["result"]["detections"]
            ),
        )
        for item in items
    ]


def test_a_merged_split_job_has_the_unsplit_jobs_frames_and_detections(split):
    merged = split.merge()
    whole, items = split.bench.items(split.whole.job_id), split.bench.items(merged.job_id)
    assert [i["frame_index"] for i in items] == list(range(round(SECONDS * FPS)))
    assert without_ids(items) == without_ids(whole)
    document = json.loads(split.bench.file_bytes(merged.job_id, "results.json"))
    assert document["job_id"] == str(merged.job_id)
    unsplit = json.loads(split.bench.file_bytes(split.whole.job_id, "results.json"))
    assert document["video"] == unsplit["video"]
    assert len(document["results"]) == len(whole)


def test_tracks_equal_the_unsplit_ones_up_to_renaming(split):
    merged = split.merge()
    whole = tracks_by_frame(split.bench.items(split.whole.job_id))
    ours = tracks_by_frame(split.bench.items(merged.job_id))
    seams = {i for r in overlaps() for i in r}
    renaming: dict[int, int] = {}
    for frame, codes in whole.items():
        if frame in seams:
            continue
        for code, track_id in codes.items():
            assert renaming.setdefault(track_id, ours[frame][code]) == ours[frame][code]
    assert len(set(renaming.values())) == len(renaming)  # one to one


def test_a_code_seen_across_a_seam_keeps_one_id_and_ids_are_unique(split):
    """Each segment numbered its own tracks from 1: in the merge, a code that crosses
    the first seam within one shot (SEAM-B, from frame 20 to the cut) has one id, and
    no id names two codes."""
    local = [tracks_by_frame(split.bench.items(s.job_id)) for s in split.segments]
    assert {t for f in local[0].values() for t in f.values()} & {
        t for f in local[2].values() for t in f.values()
    }  # the segments' own ids collide
    ours = tracks_by_frame(split.bench.items(split.merge().job_id))
    first_shot = [ours[f].get("SEAM-B") for f in range(20, CUTS[0])]
    assert None not in first_shot and len(set(first_shot)) == 1
    owners: dict[int, set[str]] = {}
    for codes in ours.values():
        for code, track_id in codes.items():
            if code != "?":  # a code found but not read: no identity to check
                owners.setdefault(track_id, set()).add(code)
    assert all(len(codes) == 1 for codes in owners.values()), owners


def test_the_merged_summary_counts_what_the_unsplit_one_counts(split):
    merged = split.merge()
    ours, whole = split.summary(merged), split.summary(split.whole)
    assert ours["labels"] == whole["labels"]
    assert [s["start_frame"] for s in ours["shots"]] == [0, *CUTS]
    drop = {"keyframe"}  # a shot across a seam shows the earlier segment's pick
    assert [{k: v for k, v in s.items() if k not in drop} for s in ours["shots"]] == [
        {k: v for k, v in s.items() if k not in drop} for s in whole["shots"]
    ]
    assert len(ours["tracks"]) == len(whole["tracks"])
    assert [(t["first_frame"], t["last_frame"]) for t in ours["tracks"]] == [
        (t["first_frame"], t["last_frame"]) for t in whole["tracks"]
    ]
    rows = csv.DictReader(
        io.StringIO(split.bench.file_bytes(merged.job_id, "detections.csv").decode())
    )
    whole_rows = csv.DictReader(
        io.StringIO(split.bench.file_bytes(split.whole.job_id, "detections.csv").decode())
    )
    assert sum(1 for _ in rows) == sum(1 for _ in whole_rows)


def test_every_merged_shot_has_a_keyframe_file_of_its_own_frames(split):
    merged = split.merge()
    ours, whole = split.summary(merged), split.summary(split.whole)
    assert all("keyframe" in s for s in whole["shots"])
    for shot in ours["shots"]:
        frame = shot["keyframe"]["frame_index"]
        assert shot["start_frame"] <= frame <= shot["end_frame"]
        jpeg = split.bench.file_bytes(merged.job_id, f"shot{shot['index']}.jpg")
        assert jpeg[:2] == b"\xff\xd8"  # a JPEG, copied under the parent's id
    assert ours["black_segments"] == whole["black_segments"]
    assert split.bench.file_bytes(merged.job_id, "contact_sheet.jpg")[:2] == b"\xff\xd8"


def csv_rows(split: Split, job: Job) -> int:
    text = split.bench.file_bytes(job.job_id, "detections.csv").decode()
    return sum(1 for _ in csv.DictReader(io.StringIO(text)))


def test_merging_again_writes_byte_identical_files(split):
    parent = split.merge()
    shots = json.loads(split.bench.file_bytes(parent.job_id, "summary.json"))["shots"]
    names = [*MERGED_FILES, *(f"shot{shot['index']}.jpg" for shot in shots)]
    first = {name: split.bench.file_bytes(parent.job_id, name) for name in names}
    split.merge(parent)
    again = {name: split.bench.file_bytes(parent.job_id, name) for name in names}
    assert again == first


def test_a_merge_with_a_segment_missing_its_results_fails_and_leaves_no_file(split):
    parent = split.bench.new_job(split.clip, "qr")
    lost = Job(uuid.uuid4(), "qr", "lost.mp4", options={"start_s": 15.0})
    with pytest.raises(VideoJobsError, match="has no results"):
        merge_segments(
            parent,
            [*split.segments, lost],
            storage=split.bench.storage,
            export_sinks=split.bench.sinks,
            confirmation=None,
            overlap_s=OVERLAP_S,
        )
    assert list(split.bench.storage.root.glob(f"*{parent.job_id}*")) == []
