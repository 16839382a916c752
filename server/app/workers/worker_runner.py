"""Entry point: `python -m app.workers.worker_runner [--once]`.

Builds the adapters from Settings, waits for the API to have migrated the database,
then runs the loop until SIGTERM/SIGINT (exit 0). `--once` processes one job, or gives
up after 30 s with none, and exits 0 either way.

A job whose decoder hangs (no frame for VIDEO_JOBS_STALL_TIMEOUT_S) cannot be stopped
from inside: its thread is stuck in native code. The process then replaces itself with
a fresh worker (same command line, same pid), which goes on with the next job while the
API's sweep recovers the stuck one; with `--once` it exits with STALLED_EXIT_CODE.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from collections.abc import Callable

from app.adapters.db.migrate import wait_for_schema
from app.adapters.pipeline.models import load_all_models, model_problems
from app.adapters.pipeline.thread_budget import apply_thread_budget
from app.adapters.storage.worker_reports import WorkerReports
from app.bootstrap import (
    Database,
    build_confirmation,
    build_database,
    build_export_sinks,
    build_indexer,
    build_keyframe_index,
    build_limits,
    build_queue_client,
    build_runner,
    build_split_policy,
    build_storage,
)
from app.logging_setup import configure_logging
from app.settings import QueueKeyError, Settings, get_settings
from app.workers.metrics import serve_worker_metrics
from app.workers.problem_watch import ProblemWatch
from app.workers.worker import Worker

log = logging.getLogger(__name__)
ONCE_WAIT_S = 30.0
STALLED_EXIT_CODE = 3


def _flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()


def restart_process() -> None:
    """Become a new worker: exec ends every thread, the hung one included; files and
    sockets are not inherited (Python opens them close-on-exec), stdout/stderr are."""
    log.error("the worker is stuck in a job; starting afresh as a new worker process")
    _flush_logs()
    os.execv(sys.executable, sys.orig_argv)


def exit_stalled() -> None:
    log.error("the worker is stuck in a job; exiting with code %d", STALLED_EXIT_CODE)
    _flush_logs()
    os._exit(STALLED_EXIT_CODE)


def stall_handler(worker: Worker, once: bool) -> Callable[[], None]:
    """Start afresh, unless this process was to stop anyway (`--once`, or a signal
    came while the job hung): then exit."""

    def on_stall() -> None:
        if once or worker.stop_requested.is_set():
            exit_stalled()
        else:
            restart_process()

    return on_stall


def build_worker(settings: Settings) -> tuple[Worker, Database]:
    database = build_database(settings, pool_size=2)
    storage = build_storage(settings)
    worker = Worker(
        jobs=database.jobs,
        queue=build_queue_client(settings),
        storage=storage,
        runner=build_runner(settings),
        heartbeat_interval=settings.heartbeat_interval_s,
        stall_timeout=settings.stall_timeout_s,
        limits=build_limits(settings),
        export_sinks=build_export_sinks(settings, storage),
        confirmation=build_confirmation(settings),
        indexer=build_indexer(settings, database, storage),
        max_zone_events=settings.webhook_max_zone_events,
        keyframes=build_keyframe_index(settings),
        split=build_split_policy(settings),
    )
    return worker, database


def problem_watch(settings: Settings, worker: Worker) -> ProblemWatch:
    """Reports models this worker cannot load for /health, refreshed three times per
    lease (the API ignores a report older than two leases: its worker is gone)."""
    return ProblemWatch(
        WorkerReports(settings.worker_reports_dir),
        f"{socket.gethostname()}-{worker.name}",
        model_problems,
        interval=settings.lease_s / 3,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.workers.worker_runner", description=__doc__)
    parser.add_argument("--once", action="store_true", help="process one job, then exit")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    apply_thread_budget(settings)  # before any model or video: a fair share of the cores
    serve_worker_metrics(settings)
    try:
        worker, database = build_worker(settings)
    except QueueKeyError as exc:  # already logged with the reason; nothing to clean up
        print(f"worker not started: {exc}", file=sys.stderr)
        return 2
    worker.on_stall = stall_handler(worker, args.once)
    worker.install_signal_handlers()
    started = time.monotonic()
    load_all_models()  # before the first job: a bad model file is reported at once
    watch = problem_watch(settings, worker)
    try:
        ready = wait_for_schema(
            database.engine,
            should_stop=worker.stop_requested.is_set,
            timeout=ONCE_WAIT_S if args.once else None,
        )
        if not ready:
            log.info("no database schema to work with; exiting")
            return 0
        with watch:
            if args.once:
                worker.run_once(max(0.0, ONCE_WAIT_S - (time.monotonic() - started)))
                return 0
            return worker.run_forever()
    finally:
        database.close()


if __name__ == "__main__":
    sys.exit(main())
