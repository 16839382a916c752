"""`video-jobs`: run the service, submit videos and read results from a terminal.

The client commands talk to the API over HTTP (`--url`, or VIDEO_JOBS_URL), so they work
against any deployment; `serve` and `worker` run the processes on this machine.
Data goes to stdout (a job id, JSON, a table), progress and messages to stderr.
Exit codes: 0 ok; 1 the API refused, or the job failed; 2 bad usage; 3 API unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx
from rich.console import Console
from rich.markup import escape

from app.cli import commands
from app.cli.client import ApiClient, CliError, default_url
from app.cli.search import add_search_command
from app.cli.terminal import printable
from app.cli.waiting import RETRY_FOR_S
from app.domain.exports import EXPORTS

JOB_STATUSES = ("pending", "running", "completed", "failed", "canceled")


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--url and --api-key, accepted before or after the command. The top-level parser
    holds the defaults; a command's copy sets a value only when it is given (SUPPRESS),
    so `video-jobs --url X jobs` and `video-jobs jobs --url X` mean the same."""
    url_default = default_url() if top else argparse.SUPPRESS
    key_default = os.environ.get("VIDEO_JOBS_API_KEY") if top else argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=url_default,
        help="the API's base URL (env VIDEO_JOBS_URL; default http://VIDEO_JOBS_API_HOST:"
        "VIDEO_JOBS_API_PORT, i.e. http://127.0.0.1:8000 unless those are set)",
    )
    parser.add_argument(
        "--api-key", default=key_default, help="sent as X-API-Key (env VIDEO_JOBS_API_KEY)"
    )


def _wait_options(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    parser.add_argument("--timeout", type=float, help=f"{prefix}give up after this many seconds")
    parser.add_argument(
        "--retry-for",
        type=float,
        default=RETRY_FOR_S,
        help=f"{prefix}while the API is down (a restart), keep retrying with backoff for "
        f"this many seconds in a row before giving up with exit code 3 (default {RETRY_FOR_S:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="video-jobs",
        description="Submit MP4s to the video job service and read what it found.",
        epilog="Run `video-jobs COMMAND --help` for a command's options.",
    )
    _connection_options(parser, top=True)
    connection = argparse.ArgumentParser(add_help=False)
    _connection_options(connection, top=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def client_command(name: str, **kwargs) -> argparse.ArgumentParser:
        """A command that talks to the API: it takes --url / --api-key too."""
        return commands.add_parser(name, parents=[connection], **kwargs)

    serve = commands.add_parser("serve", help="run the API and one worker (what `make run` runs)")
    serve.add_argument("--host", help="API host (default VIDEO_JOBS_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="API port (default VIDEO_JOBS_API_PORT or 8000)")
    worker = commands.add_parser("worker", help="run one worker process")
    worker.add_argument("--once", action="store_true", help="process one job, then exit")

    submit = client_command("submit", help="upload an MP4; prints the job id")
    submit.add_argument("file", help="the MP4 to analyse")
    submit.add_argument("--pipeline", help="pipeline id (see `video-jobs pipelines`)")
    submit.add_argument(
        "--wait", action="store_true", help="wait for the job (as `wait` does after it)"
    )
    _wait_options(submit, prefix="with --wait: ")
    options = submit.add_argument_group("analysis options (see docs/job-control.md)")
    options.add_argument(
        "--sample-fps", type=float, help="analyse at most this many frames per second"
    )
    options.add_argument("--start", type=float, help="analyse from this second (inclusive)")
    options.add_argument("--end", type=float, help="analyse up to this second (exclusive)")
    options.add_argument(
        "--min-confidence", type=float, help="drop detections below this confidence (0..1)"
    )
    options.add_argument("--labels", help="comma-separated labels to keep, e.g. person,car")
    options.add_argument(
        "--annotate", action="store_true", help="also render annotated.mp4 (see `export`)"
    )
    options.add_argument(
        "--no-split", action="store_true", help="analyse on one worker, even a long video"
    )
    options.add_argument("--tag", help="free text (<= 256 characters) to find the job again")
    options.add_argument(
        "--zones",
        metavar="FILE.json",
        help='zones and lines to count in: {"zones": [...], "lines": [...], "units": "px"}',
    )

    status = client_command("status", help="a job's status, as JSON")
    status.add_argument("job_id")
    wait = client_command(
        "wait", help="follow a job to its end, through API restarts; exit 0 if completed"
    )
    wait.add_argument("job_id")
    _wait_options(wait)
    results = client_command("results", help="a completed job's results, as JSON")
    results.add_argument("job_id")
    results.add_argument("-o", "--output", help="write to this file instead of stdout")

    pipelines = client_command("pipelines", help="the pipelines a submit may name")
    pipelines.add_argument("--json", action="store_true", help="print the raw JSON")
    jobs = client_command("jobs", help="the jobs, newest first")
    jobs.add_argument("--status", choices=JOB_STATUSES, help="only jobs in this status")
    jobs.add_argument("--limit", type=int, default=20, help="how many (1..500, default 20)")
    jobs.add_argument("--offset", type=int, default=0, help="skip this many")
    jobs.add_argument("--tag", help="only jobs submitted with this tag (exact match)")
    jobs.add_argument("--json", action="store_true", help="print the raw JSON")

    summary = client_command("summary", help="a completed job's shots, labels and tracks")
    summary.add_argument("job_id")
    summary.add_argument("--json", action="store_true", help="print the raw JSON")
    export = client_command(
        "export", help="download a completed job's CSV, VTT, chapters, quality or video"
    )
    export.add_argument("job_id")
    export.add_argument(
        "--format",
        choices=[e.format for e in EXPORTS],
        default=EXPORTS[0].format,
        help="; ".join(f"{e.format}: {e.name}" for e in EXPORTS)
        + f" (default {EXPORTS[0].format})",
    )
    export.add_argument("-o", "--output", help="the file to write (default JOB-<name>)")
    add_search_command(
        client_command("search", help="completed jobs with a label, a text read or a tag")
    )
    return parser


def main(argv: list[str] | None = None, *, http: httpx.Client | None = None) -> int:
    """The console script. `http` lets tests pass a client bound to an in-process app."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return commands.serve(args.host, args.port)
    if args.command == "worker":
        return commands.worker(args.once)
    console = Console(stderr=True, highlight=False)
    client = ApiClient(args.url, args.api_key, http=http)
    try:
        return commands.run(args, client, console)
    except CliError as exc:
        console.print(f"[red]error:[/red] {escape(printable(exc))}", soft_wrap=True)
        return exc.exit_code
    except OSError as exc:  # a full disk, a file that cannot be read: one line, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        console.print(f"[red]error:[/red] {escape(printable(f'{exc.strerror or exc}{where}'))}")
        return 1
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        if http is None:
            client.close()


if __name__ == "__main__":
    sys.exit(main())
