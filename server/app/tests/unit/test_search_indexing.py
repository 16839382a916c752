"""The worker indexes a job from its summary as it completes; a failure there is only a
warning on the job, and the entry follows the summary's shape."""

from __future__ import annotations

import json

import pytest

from app.adapters.search.in_memory import InMemorySearchIndex
from app.domain.job_runs import run_claimed_job
from app.domain.model import Job, JobStatus, summary_key
from app.domain.search import JobIndexer, SearchMatch, SearchQuery, entry_from_summary
from app.domain.services import claim_job
from app.tests.unit.conftest import submit

pytestmark = pytest.mark.unit

SUMMARY = {
    "labels": [
        {"label": "person", "tracks": 3, "individuals": 2},
        {"label": "dog", "tracks": 1},
    ],
    "tracks": [
        {"track_id": 1, "label": "person", "start_ms": 0, "end_ms": 900},
        {"track_id": 4, "label": "dog", "start_ms": 300, "end_ms": 600},
    ],
    "texts": [{"text": "EXIT", "track_ids": [9, 11], "start_ms": 100, "end_ms": 2000}],
}


@pytest.fixture
def claimed(jobs, queue, storage, runner) -> Job:
    job = claim_job(jobs, submit(jobs, queue, storage, runner, tag="yard").job_id)
    assert job is not None
    return job


def test_an_entry_takes_individuals_when_present_else_tracks_and_the_texts(claimed) -> None:
    entry = entry_from_summary(claimed, SUMMARY, max_rows=100)
    assert entry.labels == {"person": 2, "dog": 1}
    assert entry.tag == "yard" and entry.created_at == claimed.created_at
    assert entry.matches == (
        SearchMatch("label", "person", 0, 900, 1),
        SearchMatch("label", "dog", 300, 600, 4),
        SearchMatch("text", "EXIT", 100, 2000, 9),
    )
    assert len(entry_from_summary(claimed, SUMMARY, max_rows=2).matches) == 2


def test_a_completed_job_is_searchable_by_its_summary(claimed, jobs, storage, runner) -> None:
    storage.save_file(summary_key(claimed.job_id), [json.dumps(SUMMARY).encode()])
    index = InMemorySearchIndex()
    indexer = JobIndexer(index, storage, max_rows=100)
    status = run_claimed_job(claimed, jobs=jobs, storage=storage, runner=runner, indexer=indexer)
    assert status is JobStatus.COMPLETED
    assert jobs.get(claimed.job_id).warnings == []
    hits = index.search(SearchQuery(text="exi")).items
    assert [hit.job_id for hit in hits] == [claimed.job_id]
    run_again = indexer.add(claimed)  # idempotent: one entry
    assert run_again is None and index.search(SearchQuery(tag="yard")).total == 1


def test_a_job_whose_summary_cannot_be_indexed_completes_with_a_warning(
    claimed, jobs, storage, runner
) -> None:
    index = InMemorySearchIndex()  # no summary file was written
    indexer = JobIndexer(index, storage, max_rows=100)
    status = run_claimed_job(claimed, jobs=jobs, storage=storage, runner=runner, indexer=indexer)
    assert status is JobStatus.COMPLETED
    (warning,) = jobs.get(claimed.job_id).warnings
    assert warning.startswith("search index not updated")
    assert index.search(SearchQuery(tag="yard")).total == 0


def test_a_job_canceled_before_its_completion_is_recorded_leaves_no_entry(
    claimed, jobs, storage, runner
) -> None:
    storage.save_file(summary_key(claimed.job_id), [json.dumps(SUMMARY).encode()])
    index = InMemorySearchIndex()

    class CancelingIndexer(JobIndexer):
        def add(self, job: Job) -> str | None:
            warning = super().add(job)
            jobs.transition(job.job_id, JobStatus.RUNNING, JobStatus.CANCELED, now=job.created_at)
            return warning

    indexer = CancelingIndexer(index, storage, max_rows=100)
    status = run_claimed_job(claimed, jobs=jobs, storage=storage, runner=runner, indexer=indexer)
    assert status is JobStatus.CANCELED
    assert index.search(SearchQuery(tag="yard")).total == 0
