"""The merge's memory is flat in the video's length: it streams the segments' results
(measured with tracemalloc, not timed). The stream of merged frames, seams included,
holds a few hundred KB whatever the length; the sinks it feeds are the worker's own
(flat too; the results document adds a constant floor of a few MB, as it is copied
from the .jsonl in 1 MiB chunks)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from app.domain.model import Job, results_lines_key
from app.domain.segment_files import SegmentFiles
from app.domain.segment_merge import MergedStream
from app.domain.segment_seams import find_seam
from app.tests.fixtures.segments import Bench, write_synthetic_segments

pytestmark = pytest.mark.integration


def peak_of(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def results_bytes(bench: Bench, segments: list[Job]) -> int:
    total = 0
    for segment in segments:
        with bench.storage.open_file(results_lines_key(segment.job_id)) as lines:
            total += lines.seek(0, 2)
    return total


def stream_peak(bench: Bench, frames_each: int) -> tuple[int, int]:
    parent = bench.new_job(Path("none.mp4"), "motion")
    segments = write_synthetic_segments(bench.storage, parent, frames_each, overlap=75)

    def run() -> None:
        files = [SegmentFiles(bench.storage, s.job_id) for s in segments]
        stream = MergedStream(files, [find_seam(a, b) for a, b in pairwise(files)])
        assert sum(1 for _ in stream.frames()) == 3 * frames_each - 2 * 75

    return peak_of(run), results_bytes(bench, segments)


def test_the_merged_stream_holds_no_more_for_four_times_the_frames(tmp_path):
    bench = Bench(tmp_path)
    short_peak, _ = stream_peak(bench, 1_000)
    long_peak, long_bytes = stream_peak(bench, 4_000)
    assert long_bytes > 3_000_000  # megabytes of results...
    assert long_peak < long_bytes / 10  # ...never held whole
    assert long_peak < 1.2 * short_peak + 64 * 1024  # flat, not proportional
