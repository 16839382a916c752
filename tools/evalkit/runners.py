"""Run the pipelines' steps and the old detectors over the eval clips.

The new detectors are built from the pipeline files themselves (what a job runs); the
old ones with the options their pipeline files had before (Haar at 640 px wide with
24 px faces, HOG at 640 px wide, the absolute 0.5 cut rule). PySceneDetect's
AdaptiveDetector runs on the same files as a reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.steps import FrameStep
from app.adapters.pipeline.steps.faces import FacesStep
from app.adapters.pipeline.steps.objects import ObjectsStep
from app.adapters.pipeline.steps.people import PeopleStep
from app.adapters.pipeline.steps.scene_cuts import SceneCutStep
from app.adapters.pipeline.tracking import tracking_stages
from app.domain.frames import Frame
from app.domain.options import AnalysisOptions
from evalkit.metrics import Score, score_cuts, score_frame
from evalkit.recipes import Clip

StepFactory = Callable[[], list[FrameStep]]


def pipeline(pipeline_id: str) -> StepFactory:
    catalog = PipelineCatalog.load()
    return lambda: catalog.get(pipeline_id).build_steps()


def with_every(pipeline_id: str, every: int) -> StepFactory:
    spec = PipelineCatalog.load().get(pipeline_id).steps[0]
    options = dict(spec.options) | {"every": every}
    kind = {"faces": FacesStep, "people": PeopleStep, "objects": ObjectsStep}[spec.step]
    return lambda: [kind(**options)]


DETECTORS: dict[str, dict[str, tuple[StepFactory, bool]]] = {}  # task -> name -> (steps, new?)


def detectors() -> dict[str, dict[str, tuple[StepFactory, bool]]]:
    if not DETECTORS:
        DETECTORS.update(
            people={
                "people pipeline (YOLOv3-tiny, every 3rd frame)": (pipeline("people"), True),
                "same, every frame": (with_every("people", 1), True),
                "old: HOG, 640 px": (lambda: [PeopleStep(detector="hog", max_width=640)], False),
            },
            faces={
                "faces pipeline (BlazeFace, 4 tiles, every 3rd frame)": (pipeline("faces"), True),
                "same, every frame": (with_every("faces", 1), True),
                "same, every 2nd frame": (with_every("faces", 2), True),
                "BlazeFace, 2 tiles, every frame": (lambda: [FacesStep(tiles=2)], True),
                "BlazeFace, whole frame only": (lambda: [FacesStep(tiles=0)], True),
                "old: Haar, 640 px": (
                    lambda: [FacesStep(detector="haar", max_width=640, min_size=24)],
                    False,
                ),
            },
            objects={
                "objects pipeline (YOLOv3-tiny)": (pipeline("objects"), True),
                "same without the close-up pass": (lambda: [ObjectsStep(coarse=0)], True),
            },
            cuts={
                "scene_cuts pipeline (adaptive)": (pipeline("scene_cuts"), True),
                "old: absolute 0.5 rule": (lambda: [SceneCutStep(rule="absolute")], False),
            },
        )
    return DETECTORS


@dataclass
class Outcome:
    score: Score = field(default_factory=Score)
    seconds: float = 0.0
    frames_run: int = 0
    found_cuts: list[int] = field(default_factory=list)

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.seconds / self.frames_run if self.frames_run else 0.0


def _frames(clip: Clip):
    """(index, timestamp in ms, BGR frame) for every frame of the clip."""
    capture = cv2.VideoCapture(str(clip.path))
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield index, round(capture.get(cv2.CAP_PROP_POS_MSEC)), frame
            index += 1
    finally:
        capture.release()


TASK_LABELS = {"people": ("person",), "faces": ("face",), "objects": ()}


def run_boxes(clip: Clip, make: StepFactory, task: str) -> Outcome:
    """Box scores for the task's labels on the clip's scored frames. Every frame up to
    the last scored one goes through the steps and then the stages a job runs (shots,
    tracker), so a pipeline that detects on every n-th frame carries its boxes exactly
    as it would there (the tracker moves carried boxes along each track)."""
    steps, outcome = make(), Outcome()
    stages = tracking_stages(task, AnalysisOptions())
    last = max(clip.truth) if clip.truth else -1
    for index, timestamp_ms, image in _frames(clip):
        if index > last:
            break
        frame = Frame(index, timestamp_ms, image)
        started = time.perf_counter()
        for step in steps:
            step.process(image, index, frame.result)
        outcome.seconds += time.perf_counter() - started
        for stage in stages:
            stage.process(frame)
        outcome.frames_run += 1
        if index in clip.truth:
            detections = frame.result.get("detections", [])
            outcome.score.add(score_frame(detections, clip.truth[index], TASK_LABELS[task]))
    return outcome


def run_cuts(clip: Clip, make: StepFactory) -> Outcome:
    steps, outcome = make(), Outcome()
    for index, _ms, frame in _frames(clip):
        result: dict[str, Any] = {}
        started = time.perf_counter()
        for step in steps:
            step.process(frame, index, result)
        outcome.seconds += time.perf_counter() - started
        outcome.frames_run += 1
        if result.get("scene_cut"):
            outcome.found_cuts.append(index)
    outcome.score = score_cuts(outcome.found_cuts, clip.cuts)
    return outcome


def run_pyscenedetect(clip: Clip) -> Outcome:
    """PySceneDetect's AdaptiveDetector with its defaults, on the same file."""
    from scenedetect import AdaptiveDetector, SceneManager, open_video

    started = time.perf_counter()
    video = open_video(str(clip.path), backend="opencv")
    manager = SceneManager()
    manager.add_detector(AdaptiveDetector())
    manager.detect_scenes(video)
    scenes = manager.get_scene_list()
    outcome = Outcome(seconds=time.perf_counter() - started, frames_run=video.frame_number)
    outcome.found_cuts = [start.get_frames() for start, _ in scenes[1:]]
    outcome.score = score_cuts(outcome.found_cuts, clip.cuts)
    return outcome
