"""Following a job to its end: `video-jobs wait ID` and `submit --wait`.

A wait outlives the API it talks to: a restart (refused connections, or a proxy's
502/503/504 meanwhile) is ridden out with backoff, for up to `retry_for` seconds in a
row, because the job itself is safe in the database and carries on once a worker is
back. Only a job that ended, an answer that will not change (404, 401), the overall
`timeout` or an outage longer than `retry_for` end the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from app.cli.client import ApiClient, ApiError, ApiUnreachable, CliError
from app.cli.terminal import printable

POLL_INTERVAL_S = 0.5
BACKOFF_MAX_S = 5.0
RETRY_FOR_S = 300.0  # a restart, a migration, a redeploy: minutes, not hours
TRANSIENT_STATUSES = frozenset({502, 503, 504})
UNFINISHED = frozenset({"pending", "running"})


@dataclass(frozen=True)
class WaitOptions:
    """How long to wait for a job at most (None: as long as it runs), and how long the
    API may be unreachable in a row before the wait gives up."""

    timeout: float | None = None
    retry_for: float = RETRY_FOR_S


class StatusPoller:
    """The job's status, asked again through outages with a growing pause (0.5 s,
    doubling, at most 5 s); `clock` and `sleep` are injectable so tests need not wait."""

    def __init__(
        self,
        client: ApiClient,
        job_id: str,
        retry_for: float = RETRY_FOR_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.job_id, self.retry_for = client, job_id, retry_for
        self.sleep, self.clock = sleep, clock

    def status(self, deadline: float | None, on_retry: Callable[[str], None]) -> dict[str, Any]:
        delay, outage_started = POLL_INTERVAL_S, None
        while True:
            try:
                return self.client.status(self.job_id)
            except (ApiUnreachable, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status_code not in TRANSIENT_STATUSES:
                    raise
                now = self.clock()
                outage_started = now if outage_started is None else outage_started
                if now - outage_started >= self.retry_for:
                    raise ApiUnreachable(
                        f"gave up after {self.retry_for:g} s without an answer about job "
                        f"{self.job_id}: {exc}"
                    ) from exc
                if deadline is not None and now >= deadline:
                    raise
                on_retry(f"API unavailable, retrying in {delay:g} s")
                self.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)


def wait_for(
    client: ApiClient,
    console: Console,
    job_id: str,
    timeout: float | None,
    poller: StatusPoller | None = None,
    warned: tuple[str, ...] = (),
) -> int:
    """Poll the status until the job ends: 0 when completed, 1 otherwise. The job's
    warnings are printed at the end, but for those already shown (`warned`)."""
    poller = poller or StatusPoller(client, job_id)
    started = poller.clock()
    deadline = started + timeout if timeout is not None else None
    progress = Progress(
        SpinnerColumn(),
        TextColumn("job {task.fields[short]}: {task.fields[status]}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[frames]}", markup=False),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        short = printable(job_id[:8])
        task = progress.add_task("wait", total=None, short=short, status="pending", frames="")
        while True:
            status = poller.status(deadline, lambda note: progress.update(task, status=note))
            shown = printable(status["status"])
            progress.update(task, status=shown, **frame_progress(status))
            if status["status"] not in UNFINISHED:
                break
            if deadline is not None and poller.clock() > deadline:
                raise CliError(f"job {job_id} is still {shown} after {timeout:g} s")
            poller.sleep(POLL_INTERVAL_S)
    return _report_end(console, job_id, status, poller.clock() - started, warned)


def _report_end(
    console: Console, job_id: str, status: dict[str, Any], elapsed: float, warned: tuple[str, ...]
) -> int:
    for warning in status.get("warnings") or []:
        if warning in warned:
            continue
        console.print(f"[yellow]warning:[/yellow] {escape(printable(warning))}", soft_wrap=True)
    if status["status"] == "completed":
        console.print(f"job {escape(job_id)} completed in {elapsed:.1f} s")
        return 0
    reason = printable(status.get("error_message") or "no error message")
    shown = printable(status["status"])
    console.print(
        f"[red]job {escape(job_id)} {escape(shown)}:[/red] {escape(reason)}", soft_wrap=True
    )
    return 1


def frame_progress(status: dict[str, Any]) -> dict[str, Any]:
    """Bar position and the "frames done / total, fps, ETA" text from a status body."""
    done, total = status.get("frames_done") or 0, status.get("frames_total")
    if status["status"] == "completed":
        total = total or done
    parts = [f"{done}/{total} frames" if total else f"{done} frames"]
    if status.get("fps"):
        parts.append(f"{status['fps']:.1f} fps")
    if status.get("eta_s") is not None:
        parts.append(f"ETA {format_duration(status['eta_s'])}")
    return {"completed": done, "total": total, "frames": ", ".join(parts)}


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
