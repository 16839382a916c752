"""Small typed helpers the suites share: reading a job back, reaching an app's state."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.testclient import TestClient

from app.domain.model import Job
from app.domain.ports import JobRepository


def stored_job(jobs: JobRepository, job_id: uuid.UUID) -> Job:
    """The job with this id, which the test expects to be in the repository."""
    job = jobs.get(job_id)
    assert job is not None, f"job {job_id} is not in the repository"
    return job


def app_state(client: TestClient) -> State:
    """The state of the FastAPI app a TestClient runs (typed as any ASGI app)."""
    assert isinstance(client.app, FastAPI)
    return client.app.state
