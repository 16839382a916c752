"""Which job a log line is about, as data rather than as words in the message.

The worker runs each job inside `job_context`, so every line logged meanwhile (by the
domain, the adapters or the heartbeat thread, which runs in a copy of the context)
carries the job id; a line about a job logged elsewhere (a submit, a sweep, a webhook)
passes `extra=about(job_id)`. The JSON log format (`app/logging_setup.py`) makes it a
field of its own. Plain stdlib, so the domain can use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator

current_job: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "video_jobs_current_job", default=None
)


@contextlib.contextmanager
def job_context(job_id: uuid.UUID) -> Iterator[None]:
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)


def about(job_id: uuid.UUID | str) -> dict[str, str]:
    """`extra` for a log call about `job_id` made outside its job's context."""
    return {"job_id": str(job_id)}
