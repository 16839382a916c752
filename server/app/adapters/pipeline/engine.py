"""The frame loop, once: every frame through the steps, the stages, then the sinks.

The worker's runner, `make eval` and `make bench` all call `analyse`, so what is
measured and evaluated is what a job runs. The frames may come from any iterable (the
decoder, a test's generated images, the evaluation's labelled clips).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from app.adapters.pipeline.steps import FrameStep
from app.domain.frames import Frame, FrameSink, FrameStage


class FrameWatch(Protocol):
    """Told before and after each frame: stop requests, job-time limits, progress."""

    def before(self, frame: Frame, analysed: int) -> None: ...

    def after(self, frame: Frame) -> None: ...


def analyse(
    frames: Iterable[Frame],
    steps: Sequence[FrameStep],
    stages: Sequence[FrameStage] = (),
    sinks: Sequence[FrameSink] = (),
    watch: FrameWatch | None = None,
) -> int:
    """Run every frame through the chain; returns how many were analysed. A frame's
    image is dropped once the sinks have it, so nothing per frame outlives the loop."""
    analysed = 0
    for frame in frames:
        if watch is not None:
            watch.before(frame, analysed)
        for step in steps:
            step.process(frame)
        for stage in stages:
            stage.process(frame)
        for sink in sinks:
            sink.add(frame)
        frame.image = None
        analysed += 1
        if watch is not None:
            watch.after(frame)
    return analysed
