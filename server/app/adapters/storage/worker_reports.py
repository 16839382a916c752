"""What each worker cannot do, as one small file per worker under `<DATA_DIR>/workers/`.

The API's /health reads them. DATA_DIR is shared by the API and every worker (videos
and results go through it), so this works for several workers, on several hosts, with
SQLite or PostgreSQL, and needs no table. A worker rewrites its file while the problem
lasts and removes it when the problem is gone or it stops; a file not rewritten within
`max_age_s` belongs to a worker that was killed, and is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

SUFFIX = ".json"


class WorkerReports:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, worker: str) -> Path:
        return self.folder / f"{worker}{SUFFIX}"

    def write(self, worker: str, problems: list[str]) -> None:
        """Record the worker's problems (replacing the last record), atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"worker": worker, "problems": problems}, handle)
            os.replace(tmp_name, self._path(worker))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    def remove(self, worker: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(worker).unlink()

    def current(self, max_age_s: float) -> dict[str, list[str]]:
        """Problems by worker, from the files rewritten within the last `max_age_s`."""
        cutoff = time.time() - max_age_s
        found: dict[str, list[str]] = {}
        for path in sorted(self.folder.glob(f"[!.]*{SUFFIX}")):
            try:
                if path.stat().st_mtime < cutoff:
                    continue
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # being replaced, or removed meanwhile
                continue
            problems = record.get("problems") if isinstance(record, dict) else None
            if isinstance(problems, list) and problems:
                found[str(record.get("worker") or path.stem)] = [str(p) for p in problems]
        return found
