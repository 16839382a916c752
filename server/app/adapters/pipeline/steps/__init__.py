"""Analysis steps. Each step adds its keys to one frame's result dict.

STEP_TYPES maps the step names used in pipeline JSON files to their classes.
"""

from app.adapters.pipeline.steps.base import FrameStep
from app.adapters.pipeline.steps.faces import FacesStep
from app.adapters.pipeline.steps.motion import MotionStep
from app.adapters.pipeline.steps.objects import ObjectsStep
from app.adapters.pipeline.steps.people import PeopleStep
from app.adapters.pipeline.steps.qr import QrStep
from app.adapters.pipeline.steps.quality import QualityStep
from app.adapters.pipeline.steps.scene_cuts import SceneCutStep
from app.adapters.pipeline.steps.text import TextStep

STEP_TYPES: dict[str, type[FrameStep]] = {
    step.name: step
    for step in (
        MotionStep,
        FacesStep,
        PeopleStep,
        ObjectsStep,
        QrStep,
        SceneCutStep,
        QualityStep,
        TextStep,
    )
}

__all__ = ["STEP_TYPES", "FrameStep"]
