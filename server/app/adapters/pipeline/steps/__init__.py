"""Analysis steps. Each step adds its keys to one frame's result dict.

STEP_TYPES maps the step names used in pipeline JSON files to their classes.
"""

from app.adapters.pipeline.steps.base import FrameStep
from app.adapters.pipeline.steps.motion import MotionStep
from app.adapters.pipeline.steps.quality import QualityStep

STEP_TYPES: dict[str, type[FrameStep]] = {
    MotionStep.name: MotionStep,
    QualityStep.name: QualityStep,
}

__all__ = ["STEP_TYPES", "FrameStep"]
