"""One logging format for the API and the worker; job lines carry the job id."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(processName)s[%(process)d] %(name)s: %(message)s"


def configure_logging(level: str | None = None) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_video_jobs", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._video_jobs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("VIDEO_JOBS_LOG_LEVEL", "INFO"))
    logging.getLogger("alembic").setLevel(logging.WARNING)
