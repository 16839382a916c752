"""The standalone worker process: `python -m app.workers.worker_runner`."""
