"""Pipelines as data: one JSON file each, built-in ones plus an operator's folder.

A file looks like {"id": "faces_qr", "description": "...", "steps": [{"step": "faces",
"options": {...}}, {"step": "qr"}]}. Every file is checked at load time (unknown steps
or options fail start-up with the file's name), so a bad file never fails a job later.
Building each step at load also reads and hash-checks its model files
(app.adapters.pipeline.models). A missing or altered model does not stop the process:
it is logged with the file's and package's names, the pipelines that need it fail
their jobs with that message (their steps are built per job, and the check repeats),
the worker reports it for /health, and the other pipelines run.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.adapters.pipeline.models import ModelFileError
from app.adapters.pipeline.steps import STEP_TYPES, FrameStep
from app.domain.errors import UnknownPipeline, VideoJobsError
from app.domain.ports import PipelineInfo

log = logging.getLogger(__name__)
BUILTIN_DIR = Path(__file__).parent / "definitions"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class PipelineDefinitionError(VideoJobsError):
    """A pipeline JSON file is malformed or names an unknown step or option."""


@dataclass(frozen=True)
class StepSpec:
    step: str
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> FrameStep:
        return STEP_TYPES[self.step](**self.options)


@dataclass(frozen=True)
class PipelineDefinition:
    id: str
    description: str
    steps: tuple[StepSpec, ...]
    source: str = ""
    labels: tuple[str, ...] = ()  # detection labels its steps can emit, in step order
    # The pipeline's default confidence floor (a job's `min_confidence` overrides it):
    # applied after the tracker, which still follows objects through their weak boxes.
    min_confidence: float | None = None

    def build_steps(self) -> list[FrameStep]:
        """Fresh step instances: state (a background model, the last histogram) is per job."""
        return [spec.build() for spec in self.steps]


def parse_definition(
    data: Any, source: str, step_defaults: dict[str, dict[str, Any]] | None = None
) -> PipelineDefinition:
    """`step_defaults` (from Settings) are options a step gets unless the file sets them."""
    if not isinstance(data, dict):
        raise PipelineDefinitionError(f"{source}: a pipeline file holds one JSON object")
    pipeline_id = data.get("id")
    if not isinstance(pipeline_id, str) or not _ID_PATTERN.match(pipeline_id):
        raise PipelineDefinitionError(
            f"{source}: 'id' must be lower-case letters, digits, '_' or '-' (got {pipeline_id!r})"
        )
    description = data.get("description", "")
    raw_steps = data.get("steps")
    if not isinstance(description, str) or not isinstance(raw_steps, list) or not raw_steps:
        raise PipelineDefinitionError(f"{source}: needs a 'description' and a non-empty 'steps'")
    floor = data.get("min_confidence")
    if floor is not None and (
        isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 1
    ):
        raise PipelineDefinitionError(f"{source}: 'min_confidence' must be a number in 0..1")
    specs: list[StepSpec] = []
    labels: list[str] = []
    for raw in raw_steps:
        if not isinstance(raw, dict) or raw.get("step") not in STEP_TYPES:
            raise PipelineDefinitionError(
                f"{source}: unknown step {raw!r}; known steps: {', '.join(sorted(STEP_TYPES))}"
            )
        options = raw.get("options") or {}
        if not isinstance(options, dict):
            raise PipelineDefinitionError(f"{source}: 'options' of {raw['step']} is not an object")
        defaults = (step_defaults or {}).get(raw["step"], {})
        spec = StepSpec(raw["step"], {**defaults, **options})
        try:
            step_labels = spec.build().labels  # also loads and verifies its model files
        except (TypeError, ValueError) as exc:
            raise PipelineDefinitionError(f"{source}: step {spec.step}: {exc}") from exc
        except ModelFileError as exc:
            log.error("pipeline %s cannot run until this is fixed: %s", pipeline_id, exc)
            step_labels = STEP_TYPES[spec.step].labels
        specs.append(spec)
        labels.extend(label for label in step_labels if label not in labels)
    return PipelineDefinition(
        pipeline_id,
        description,
        tuple(specs),
        source,
        tuple(labels),
        None if floor is None else float(floor),
    )


class PipelineCatalog:
    def __init__(self, definitions: list[PipelineDefinition]) -> None:
        self._by_id: dict[str, PipelineDefinition] = {}
        for definition in definitions:
            if definition.id in self._by_id:
                raise PipelineDefinitionError(
                    f"pipeline id {definition.id!r} is declared twice: "
                    f"{self._by_id[definition.id].source} and {definition.source}"
                )
            self._by_id[definition.id] = definition

    @classmethod
    def load(
        cls, extra_dir: Path | None = None, step_defaults: dict[str, dict[str, Any]] | None = None
    ) -> PipelineCatalog:
        folders = [BUILTIN_DIR] + ([Path(extra_dir)] if extra_dir else [])
        definitions = []
        for folder in folders:
            if not folder.is_dir():
                raise PipelineDefinitionError(f"pipelines folder {folder} does not exist")
            for path in sorted(folder.glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise PipelineDefinitionError(f"{path}: not readable JSON: {exc}") from exc
                definitions.append(parse_definition(data, str(path), step_defaults))
        return cls(definitions)

    def get(self, pipeline_id: str) -> PipelineDefinition:
        try:
            return self._by_id[pipeline_id]
        except KeyError:
            raise UnknownPipeline(pipeline_id, list(self._by_id)) from None

    def infos(self) -> list[PipelineInfo]:
        return [
            PipelineInfo(d.id, d.description, d.labels)
            for d in sorted(self._by_id.values(), key=lambda d: d.id)
        ]
