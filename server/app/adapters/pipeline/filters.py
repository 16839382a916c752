"""The filters stage: the job's `min_confidence` (else the pipeline's own floor) and
`labels`, and the per-frame cap.

Last of the stages, so the tracker and the shots see every detection, and what is
dropped here never reaches a sink. The cap (VIDEO_JOBS_MAX_DETECTIONS_PER_FRAME) keeps
the most confident detections, in their original order, and the job gets one warning
saying how many frames it cut.
"""

from __future__ import annotations

from app.domain.frames import Frame, FrameStage
from app.domain.options import AnalysisOptions


class DetectionFilter(FrameStage):
    def __init__(
        self, options: AnalysisOptions, max_per_frame: int, default_floor: float | None = None
    ) -> None:
        # The job's min_confidence, else the pipeline's floor (docs/models.md, "Floors").
        floor = options.min_confidence
        self.min_confidence = floor if floor is not None else default_floor
        self.labels = frozenset(options.labels) if options.labels is not None else None
        self.max_per_frame = max_per_frame
        self.capped_frames = 0

    def process(self, frame: Frame) -> None:
        detections = frame.detections
        if detections is None:
            return
        if self.min_confidence is not None:
            detections = [d for d in detections if d.confidence >= self.min_confidence]
        if self.labels is not None:
            detections = [d for d in detections if d.label in self.labels]
        if len(detections) > self.max_per_frame:
            self.capped_frames += 1
            kept = detections
            ranked = sorted(range(len(kept)), key=lambda i: -kept[i].confidence)
            keep = sorted(ranked[: self.max_per_frame])
            detections = [kept[i] for i in keep]
        frame.detections = detections

    def warnings(self) -> list[str]:
        if not self.capped_frames:
            return []
        return [
            f"{self.capped_frames} frame(s) had more than {self.max_per_frame} detections; "
            f"only the {self.max_per_frame} most confident of each were kept "
            "(VIDEO_JOBS_MAX_DETECTIONS_PER_FRAME)"
        ]
