"""Placeholder for the merge of a split job's segments (written in the segmerge branch,
which replaces this module); only its signature is fixed here, for the wiring."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.job_runs import SinkFactory
from app.domain.model import Job
from app.domain.ports import StorageService, VideoAnalysis
from app.domain.track_facts import ConfirmationRule


def merge_segments(
    parent: Job,
    segments: Sequence[Job],
    *,
    storage: StorageService,
    export_sinks: SinkFactory | None,
    confirmation: ConfirmationRule | None,
    overlap_s: float,
) -> VideoAnalysis:
    """Write the parent's results, summary and exports from its completed segments."""
    raise NotImplementedError("the segment merge lands with the segmerge branch")
