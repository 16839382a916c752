"""One logging format for the API and the worker; job lines carry the job id.

`VIDEO_JOBS_LOG_FORMAT=json` switches to one JSON object per line, for log shippers that
index fields: the job id becomes a field of its own, so "every line about job X" is a
filter, not a regular expression. The worker runs each job inside `job_context(id)`, so
every line logged meanwhile, by any module, carries that job's id; uvicorn's access
lines, logged outside any job, name it in their path.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from app.domain.log_context import current_job

FORMAT = "%(asctime)s %(levelname)s %(processName)s[%(process)d] %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")

# Access log lines name the job in the path (/video/status/<uuid>, /video/jobs/<uuid>/...).
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_JOB_PATH = re.compile(rf"/(?:status|results|jobs)/({_UUID})\b")


def _job_of(record: logging.LogRecord) -> object | None:
    job_id = getattr(record, "job_id", None) or current_job.get()
    if job_id is None and (match := _JOB_PATH.search(record.getMessage())):
        return match.group(1)
    return job_id


# uvicorn installs its own text handlers; in JSON mode its lines go through ours instead.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """time, level, logger, process, message, and job_id when the line is about a job
    (from `extra={"job_id": ...}`, the job the line was logged in, or the path of an
    access line)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": message,
        }
        job_id = _job_of(record)
        if job_id is not None:
            entry["job_id"] = str(job_id)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def build_formatter(fmt: str) -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Install our handler on the root logger once per process; `level` and `fmt`
    ("text" or "json") come from Settings (VIDEO_JOBS_LOG_LEVEL, VIDEO_JOBS_LOG_FORMAT)."""
    root = logging.getLogger()
    if any(getattr(h, "_video_jobs", False) for h in root.handlers):
        return
    fmt = fmt.lower()
    handler = logging.StreamHandler()
    handler.setFormatter(build_formatter(fmt))
    handler._video_jobs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if fmt == "json":
        for name in _UVICORN_LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
