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

from app.cli import reports
from app.cli.client import ApiClient, CliError, check_mp4

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
        fields = submit_fields(args)
        path = Path(args.file)
        return submit(client, console, path, args.pipeline, args.wait, args.timeout, fields)
    if args.command == "status":
        print_json(client.status(args.job_id))
        return 0
    if args.command == "results":
        return results(client, console, args.job_id, args.output)
    if args.command == "pipelines":
        return pipelines(client, args.json)
    if args.command == "jobs":
        return jobs(client, args.status, args.limit, args.offset, args.json, args.tag)
    if args.command == "summary":
        return reports.summary(client, args.job_id, args.json)
    if args.command == "export":
        return reports.export(client, console, args.job_id, args.format, args.output)
    raise CliError(f"unknown command {args.command!r}")  # argparse prevents this


def submit_fields(args: argparse.Namespace) -> dict[str, str]:
    """The submit's analysis options and tag as form fields (the API validates them)."""
    given = {
        "sample_fps": args.sample_fps,
        "start_s": args.start,
        "end_s": args.end,
        "min_confidence": args.min_confidence,
        "labels": args.labels,
        "tag": args.tag,
    }
    fields = {
        name: f"{value:g}" if isinstance(value, float) else value
        for name, value in given.items()
        if value is not None
    }
    if args.annotate:
        fields["annotate"] = "true"
    return fields


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
    fields: dict[str, str] | None = None,
) -> int:
    """Upload with a progress bar, print the job id; with `wait`, follow it to the end."""
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    check_mp4(path)
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
        answer = client.submit(
            path, pipeline_id, on_read=lambda n: progress.advance(task, n), fields=fields
        )
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
        TextColumn("{task.fields[frames]}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("wait", total=None, short=job_id[:8], status="pending", frames="")
        while True:
            status = client.status(job_id)
            progress.update(task, status=status["status"], **frame_progress(status))
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


def jobs(
    client: ApiClient,
    status: str | None,
    limit: int,
    offset: int,
    raw: bool,
    tag: str | None = None,
) -> int:
    page = client.jobs(status, limit, offset, tag)
    if raw:
        print_json(page)
        return 0
    rows = page["jobs"]
    if not rows:
        filters = [f"status {status}" if status else "", f"tag {tag!r}" if tag else ""]
        print(" ".join(["no jobs", *(f for f in filters if f)]), file=sys.stderr)
        return 0
    names = [job.get("filename") or job.get("tag") or "" for job in rows]
    width = min(max([4, *(len(n) for n in names)]), 40)
    head = f"{'JOB ID':<36}  {'STATUS':<9}  {'PIPELINE':<12}  {'CREATED':<32}"
    print(f"{head}  {'NAME':<{width}}  ERROR")
    for job, name in zip(rows, names, strict=True):
        line = (
            f"{job['job_id']:<36}  {job['status']:<9}  {job['pipeline_id']:<12}  "
            f"{job['created_at']:<32}  {name[:width]:<{width}}  {job['error_message'] or ''}"
        )
        print(line.rstrip())
    if "total" in page:
        last = offset + len(rows)
        print(f"jobs {offset + 1}-{last} of {page['total']}", file=sys.stderr)
    return 0
