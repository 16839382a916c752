"""One logging format for the API and the worker; job lines carry the job id.

`VIDEO_JOBS_LOG_FORMAT=json` switches to one JSON object per line, for log shippers that
index fields: the job id becomes a field of its own, so "every line about job X" is a
filter, not a regular expression.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime

FORMAT = "%(asctime)s %(levelname)s %(processName)s[%(process)d] %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")

# Job log lines say "job <uuid>" (see domain/services.py and workers/worker.py); access
# log lines name it in the path (/video/status/<uuid>, /video/jobs/<uuid>/...).
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_JOB_ID = re.compile(rf"(?:\bjob |/(?:status|results|jobs)/)({_UUID})\b")
# uvicorn installs its own text handlers; in JSON mode its lines go through ours instead.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """time, level, logger, process, message, and job_id when the line is about a job
    (from `extra={"job_id": ...}`, else from the "job <id>" in the message)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": message,
        }
        job_id = getattr(record, "job_id", None)
        if job_id is None and (match := _JOB_ID.search(message)):
            job_id = match.group(1)
        if job_id is not None:
            entry["job_id"] = str(job_id)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def build_formatter(fmt: str) -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT)


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Install our handler on the root logger once per process.

    `fmt` is "text" (default) or "json"; when not given, VIDEO_JOBS_LOG_FORMAT decides.
    """
    root = logging.getLogger()
    if any(getattr(h, "_video_jobs", False) for h in root.handlers):
        return
    fmt = (fmt or os.environ.get("VIDEO_JOBS_LOG_FORMAT") or "text").lower()
    handler = logging.StreamHandler()
    handler.setFormatter(build_formatter(fmt))
    handler._video_jobs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("VIDEO_JOBS_LOG_LEVEL", "INFO"))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if fmt == "json":
        for name in _UVICORN_LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
