"""One thread budget per worker process, for every pool that runs its frames.

A worker's frames pass through three thread pools: the decoder's (FFmpeg, inside
OpenCV's VideoCapture for the frame loop, PyAV for a frame image and the annotated
video's encoder), OpenCV's own (resizes, colour conversion, MOG2, cv2.dnn) and
onnxruntime's intra-op pool. Each sizes itself to the whole machine by default, so two
workers on two cores start 2 x 3 pools of 2 threads that fight for the same cores: the
detectors slowed ten times or more on a loaded machine (issue 22), far worse than a fair
share. `apply_thread_budget` (called once at worker start, before any model or video is
opened) bounds all three by the same count: the setting `inference_threads`, or when it
is 0, the cores this process may use divided by `workers_per_host`. onnxruntime's
sessions also never spin-wait (models/runtime.py).
"""

from __future__ import annotations

import logging
from typing import Protocol

from app.adapters.pipeline.models import runtime

log = logging.getLogger(__name__)


class ThreadSettings(Protocol):
    workers_per_host: int
    inference_threads: int


def thread_budget(settings: ThreadSettings, cores: int | None = None) -> int:
    """The threads each pool of this worker may use (`cores`: the usable cores, by
    default this process's CPU affinity)."""
    return runtime.resolve_threads(settings.inference_threads, settings.workers_per_host, cores)


def apply_thread_budget(settings: ThreadSettings, cores: int | None = None) -> int:
    """Bound onnxruntime's sessions (built from now on), OpenCV's pool and the decoders
    opened from now on to one budget; returns it."""
    threads = thread_budget(settings, cores)
    runtime.configure(threads)
    log.info("thread budget: %d per pool (decoder, OpenCV, onnxruntime)", threads)
    return threads


def decoder_threads() -> int:
    """Threads a decoder (or encoder) opened now may use: the applied budget, else the
    usable cores of this process (an API process, a benchmark without a budget)."""
    return runtime.inference_threads()


__all__ = ["ThreadSettings", "apply_thread_budget", "decoder_threads", "thread_budget"]
