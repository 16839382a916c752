"""Run the pipelines' steps and the old detectors over the eval clips.

The new detectors are built from the pipeline files themselves (what a job runs); the
old ones with the options their pipeline files had before (Haar at 640 px wide with
24 px faces, HOG at 640 px wide, the absolute 0.5 cut rule). PySceneDetect's
AdaptiveDetector runs on the same files as a reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.engine import analyse
from app.adapters.pipeline.models.yolo import COCO_LABELS
from app.adapters.pipeline.steps import FrameStep
from app.adapters.pipeline.steps.faces import FacesStep
from app.adapters.pipeline.steps.objects import ObjectsStep
from app.adapters.pipeline.steps.people import PeopleStep
from app.adapters.pipeline.steps.scene_cuts import SceneCutStep
from app.adapters.pipeline.tracking import tracking_stages
from app.domain.frames import Frame, FrameSink
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


def with_model(pipeline_id: str, model: str, **changes: Any) -> StepFactory:
    """The pipeline's step with a given COCO model (and other options), to compare."""
    spec = PipelineCatalog.load().get(pipeline_id).steps[0]
    options = dict(spec.options) | {"detector": model} | changes
    kind = {"people": PeopleStep, "objects": ObjectsStep}[spec.step]
    return lambda: [kind(**options)]


COCO_NAMES = {"yolov3-tiny": "YOLOv3-tiny", "yolov4-tiny": "YOLOv4-tiny"}


def coco_models(pipeline_id: str) -> tuple[str, str]:
    """(the COCO model the pipeline runs, the other one), so the rows name what ran."""
    options = PipelineCatalog.load().get(pipeline_id).steps[0].options
    default = {"people": PeopleStep.default_detector, "objects": ObjectsStep.default_model}
    model = options.get("detector") or default[pipeline_id]
    model = "yolov3-tiny" if model == "yolo" else model
    return model, next(m for m in COCO_NAMES if m != model)


DETECTORS: dict[str, dict[str, tuple[StepFactory, bool]]] = {}  # task -> name -> (steps, new?)


def detectors() -> dict[str, dict[str, tuple[StepFactory, bool]]]:
    if not DETECTORS:
        people, other_people = coco_models("people")
        objects, other_objects = coco_models("objects")
        DETECTORS.update(
            people={
                f"people pipeline ({COCO_NAMES[people]}, 640 px tight letterbox, every 3rd"
                " frame)": (pipeline("people"), True),
                "same, every frame": (with_every("people", 1), True),
                f"{COCO_NAMES[people]}, 416 px square, every 3rd frame (the pipeline before)": (
                    with_model("people", people, size=416, square=True),
                    True,
                ),
                f"{COCO_NAMES[other_people]}, 640 px tight letterbox, every 3rd frame": (
                    with_model("people", other_people),
                    True,
                ),
                "old: HOG, 640 px": (lambda: [PeopleStep(detector="hog", max_width=640)], False),
            },
            faces={
                "faces pipeline (CenterFace, 40 px faces, every 3rd frame)": (
                    pipeline("faces"),
                    True,
                ),
                "same, every 2nd frame": (with_every("faces", 2), True),
                "same, every frame": (with_every("faces", 1), True),
                "CenterFace, 32 px faces, every 3rd frame": (
                    lambda: [FacesStep(detector="centerface", min_face=32, every=3)],
                    True,
                ),
                "BlazeFace, 4 tiles, every 3rd frame (the pipeline before)": (
                    lambda: [FacesStep(detector="blazeface", tiles=4, every=3)],
                    True,
                ),
                "BlazeFace, 4 tiles, every 2nd frame": (
                    lambda: [FacesStep(detector="blazeface", tiles=4, every=2)],
                    True,
                ),
                "old: Haar, 640 px": (
                    lambda: [FacesStep(detector="haar", max_width=640, min_size=24)],
                    False,
                ),
            },
            objects={
                f"objects pipeline ({COCO_NAMES[objects]})": (pipeline("objects"), True),
                "same without the close-up pass": (with_model("objects", objects, coarse=0), True),
                COCO_NAMES[other_objects]: (with_model("objects", other_objects), True),
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


def _frames(clip: Clip, last: int | None = None) -> Iterator[Frame]:
    """Every frame of the clip (up to index `last`), as the job's source gives them."""
    capture = cv2.VideoCapture(str(clip.path))
    index = 0
    try:
        while last is None or index <= last:
            ok, image = capture.read()
            if not ok:
                return
            yield Frame(index, round(capture.get(cv2.CAP_PROP_POS_MSEC)), image)
            index += 1
    finally:
        capture.release()


class _TimedSteps(FrameStep):
    """The pipeline's steps as one, timing them (the stages are not the detector's cost)."""

    name = "timed"

    def __init__(self, steps: list[FrameStep], outcome: Outcome) -> None:
        self.steps, self.outcome = steps, outcome

    def process(self, frame: Frame) -> None:
        started = time.perf_counter()
        for step in self.steps:
            step.process(frame)
        self.outcome.seconds += time.perf_counter() - started
        self.outcome.frames_run += 1


class _Scorer(FrameSink):
    """Scores each finished frame the clip has truth for, as a job's sinks see it."""

    def __init__(self, clip: Clip, task: str | None, outcome: Outcome) -> None:
        self.clip, self.task, self.outcome = clip, task, outcome

    def add(self, frame: Frame) -> None:
        if self.task is not None and frame.index in self.clip.truth:
            detections = [d.to_dict() for d in frame.detections or ()]
            truth = self.clip.truth[frame.index]
            self.outcome.score.add(score_frame(detections, truth, TASK_LABELS[self.task]))
        if frame.result.get("scene_cut"):
            self.outcome.found_cuts.append(frame.index)


# What each task's pipeline can emit: the objects photographs' truth also boxes faces
# (for the faces task), which no COCO detector reports and must not count as missed.
TASK_LABELS = {"people": ("person",), "faces": ("face",), "objects": COCO_LABELS}


def run_boxes(clip: Clip, make: StepFactory, task: str) -> Outcome:
    """Box scores for the task's labels on the clip's scored frames. Every frame up to
    the last scored one goes through the steps and then the stages a job runs (shots,
    tracker), so a pipeline that detects on every n-th frame carries its boxes exactly
    as it would there (the tracker moves carried boxes along each track)."""
    outcome = Outcome()
    stages = tracking_stages(task, AnalysisOptions())
    last = max(clip.truth) if clip.truth else -1
    steps = [_TimedSteps(make(), outcome)]
    analyse(_frames(clip, last), steps, stages, [_Scorer(clip, task, outcome)])
    return outcome


def run_cuts(clip: Clip, make: StepFactory) -> Outcome:
    outcome = Outcome()
    analyse(_frames(clip), [_TimedSteps(make(), outcome)], sinks=[_Scorer(clip, None, outcome)])
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
