"""What each `video-jobs` command does; `main.py` only parses the arguments.

Each command returns its exit code. Output a script may read goes to stdout with
`print`; progress bars and messages go to the stderr console.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from app.cli import reports
from app.cli.client import ApiClient, ApiError, CliError, check_mp4
from app.cli.search import search
from app.cli.terminal import printable
from app.cli.waiting import StatusPoller, WaitOptions, wait_for


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
        waiting = WaitOptions(args.timeout, args.retry_for) if args.wait else None
        return submit(client, console, path, args.pipeline, waiting, fields)
    if args.command == "wait":
        poller = StatusPoller(client, args.job_id, args.retry_for)
        return wait_for(client, console, args.job_id, args.timeout, poller)
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
    if args.command == "search":
        return search(client, args, print_json)
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
    if getattr(args, "no_split", False):
        fields["split"] = "false"
    if getattr(args, "zones", None):
        fields["zones"] = _zones_file(Path(args.zones))
    return fields


def _zones_file(path: Path) -> str:
    """The file's JSON as the form field (the API checks the geometry)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"could not read the zones file {path}: {exc}") from exc
    try:
        json.loads(text)
    except ValueError as exc:
        raise CliError(f"the zones file {path} is not valid JSON: {exc}") from exc
    return text


def print_json(document: Any, stream=None) -> None:
    json.dump(document, stream or sys.stdout, indent=2)
    (stream or sys.stdout).write("\n")


def submit(
    client: ApiClient,
    console: Console,
    path: Path,
    pipeline_id: str | None,
    waiting: WaitOptions | None = None,
    fields: dict[str, str] | None = None,
) -> int:
    """Upload with a progress bar, print the job id; with `waiting`, follow the job to
    its end. Whatever can be refused without the file is checked before a byte is sent."""
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    check_mp4(path)
    if pipeline_id:
        check_pipeline(client, pipeline_id)
    progress = Progress(
        TextColumn("uploading {task.fields[name]}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("upload", total=path.stat().st_size, name=printable(path.name))
        answer = client.submit(
            path, pipeline_id, on_read=lambda n: progress.advance(task, n), fields=fields
        )
    job_id = printable(answer["job_id"])
    print(job_id, flush=True)
    shown = printable(f"job {job_id} {answer['status']} (pipeline {answer['pipeline_id']})")
    console.print(escape(shown), soft_wrap=True)
    warned = tuple(answer.get("warnings") or [])
    for warning in warned:
        console.print(f"[yellow]warning:[/yellow] {escape(printable(warning))}", soft_wrap=True)
    if waiting is None:
        return 0
    poller = StatusPoller(client, job_id, waiting.retry_for)
    return wait_for(client, console, job_id, waiting.timeout, poller, warned)


def check_pipeline(client: ApiClient, pipeline_id: str) -> None:
    """An unknown pipeline is refused before the upload, with the valid ids; a server
    that cannot list its pipelines is left to answer the submit itself."""
    try:
        known = [str(item.get("id")) for item in client.pipelines() if isinstance(item, dict)]
    except ApiError:
        return
    if known and pipeline_id not in known:
        raise CliError(
            f"unknown pipeline {pipeline_id!r}; valid ids are: {', '.join(known)} "
            "(nothing was uploaded)"
        )


def results(client: ApiClient, console: Console, job_id: str, output: str | None) -> int:
    document = client.results(job_id)
    if output is None:
        print_json(document)
        return 0
    target = Path(output)
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            print_json(document, handle)
        os.replace(partial, target)
    except OSError as exc:
        raise CliError(f"could not write {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    frames = len(document.get("results", []))
    console.print(escape(f"wrote the results of job {job_id} ({frames} frames) to {target}"))
    return 0


def pipelines(client: ApiClient, raw: bool) -> int:
    items = client.pipelines()
    if raw:
        print_json(items)
        return 0
    rows = [(printable(item["id"]), printable(item.get("description", ""))) for item in items]
    width = max((len(pipeline_id) for pipeline_id, _ in rows), default=0)
    for pipeline_id, description in rows:
        print(f"{pipeline_id:<{width}}  {description}")
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
    rows = [{key: printable(value or "") for key, value in job.items()} for job in rows]
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
