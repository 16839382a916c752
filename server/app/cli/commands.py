"""What each `video-jobs` command does; `main.py` only parses the arguments.

Each command returns its exit code. Output a script may read goes to stdout with
`print`; progress bars and messages go to the stderr console.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from app.cli.client import ApiClient, CliError

POLL_INTERVAL_S = 0.5
UNFINISHED = frozenset({"pending", "running"})


def serve(host: str | None, port: int | None) -> int:
    """The API and one worker, as `make run` starts them."""
    from app.run import main as run_main

    argv = [*(["--host", host] if host else []), *(["--port", str(port)] if port else [])]
    return run_main(argv)


def worker(once: bool) -> int:
    from app.workers.worker_runner import main as worker_main

    return worker_main(["--once"] if once else [])


def run(args: argparse.Namespace, client: ApiClient, console: Console) -> int:
    """Dispatch a client command."""
    if args.command == "submit":
        return submit(client, console, Path(args.file), args.pipeline, args.wait, args.timeout)
    if args.command == "status":
        print_json(client.status(args.job_id))
        return 0
    if args.command == "results":
        return results(client, console, args.job_id, args.output)
    if args.command == "pipelines":
        return pipelines(client, args.json)
    if args.command == "jobs":
        return jobs(client, args.status, args.limit, args.offset, args.json)
    raise CliError(f"unknown command {args.command!r}")  # argparse prevents this


def print_json(document: Any, stream=None) -> None:
    json.dump(document, stream or sys.stdout, indent=2)
    (stream or sys.stdout).write("\n")


def submit(
    client: ApiClient,
    console: Console,
    path: Path,
    pipeline_id: str | None,
    wait: bool,
    timeout: float | None,
) -> int:
    """Upload with a progress bar, print the job id; with `wait`, follow it to the end."""
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    progress = Progress(
        TextColumn("uploading {task.fields[name]}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("upload", total=path.stat().st_size, name=path.name)
        answer = client.submit(path, pipeline_id, on_read=lambda n: progress.advance(task, n))
    job_id = answer["job_id"]
    print(job_id, flush=True)
    console.print(f"job {job_id} {answer['status']} (pipeline {answer['pipeline_id']})")
    if not wait:
        return 0
    return wait_for(client, console, job_id, timeout)


def wait_for(client: ApiClient, console: Console, job_id: str, timeout: float | None) -> int:
    """Poll the status until the job ends: 0 when completed, 1 otherwise."""
    started = time.monotonic()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("job {task.fields[short]}: {task.fields[status]}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("wait", total=1.0, short=job_id[:8], status="pending")
        while True:
            status = client.status(job_id)
            progress.update(task, completed=status["progress"], status=status["status"])
            if status["status"] not in UNFINISHED:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise CliError(f"job {job_id} is still {status['status']} after {timeout:g} s")
            time.sleep(POLL_INTERVAL_S)
    elapsed = time.monotonic() - started
    if status["status"] == "completed":
        console.print(f"job {job_id} completed in {elapsed:.1f} s")
        return 0
    reason = status.get("error_message") or "no error message"
    console.print(f"[red]job {job_id} {status['status']}:[/red] {escape(reason)}", soft_wrap=True)
    return 1


def results(client: ApiClient, console: Console, job_id: str, output: str | None) -> int:
    document = client.results(job_id)
    if output is None:
        print_json(document)
        return 0
    with open(output, "w", encoding="utf-8") as handle:
        print_json(document, handle)
    frames = len(document.get("results", []))
    console.print(f"wrote the results of job {job_id} ({frames} frames) to {output}")
    return 0


def pipelines(client: ApiClient, raw: bool) -> int:
    items = client.pipelines()
    if raw:
        print_json(items)
        return 0
    width = max((len(p["id"]) for p in items), default=0)
    for item in items:
        print(f"{item['id']:<{width}}  {item['description']}")
    return 0


def jobs(client: ApiClient, status: str | None, limit: int, offset: int, raw: bool) -> int:
    page = client.jobs(status, limit, offset)
    if raw:
        print_json(page)
        return 0
    rows = page["jobs"]
    if not rows:
        print("no jobs" + (f" with status {status}" if status else ""), file=sys.stderr)
        return 0
    print(f"{'JOB ID':<36}  {'STATUS':<9}  {'PIPELINE':<12}  {'CREATED':<32}  ERROR")
    for job in rows:
        line = (
            f"{job['job_id']:<36}  {job['status']:<9}  {job['pipeline_id']:<12}  "
            f"{job['created_at']:<32}  {job['error_message'] or ''}"
        )
        print(line.rstrip())
    return 0
