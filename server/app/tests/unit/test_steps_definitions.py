"""Built-in pipeline files: one per contract pipeline, each naming registered steps."""

from __future__ import annotations

import numpy as np
import pytest

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.steps import STEP_TYPES
from app.tests.unit.step_checks import assert_plain_json, run_step

pytestmark = pytest.mark.unit

CONTRACT_IDS = {"motion", "faces", "people", "objects", "qr", "scene_cuts", "quality"}


def test_every_contract_pipeline_and_the_faces_qr_combination_are_files():
    ids = {info.id for info in PipelineCatalog.load().infos()}
    assert CONTRACT_IDS | {"faces_qr"} <= ids


def test_faces_qr_is_the_faces_step_then_the_qr_step():
    definition = PipelineCatalog.load().get("faces_qr")
    assert [spec.step for spec in definition.steps] == ["faces", "qr"]


def test_every_run_gets_fresh_step_instances():
    catalog = PipelineCatalog.load()
    for info in catalog.infos():
        first = catalog.get(info.id).build_steps()
        second = catalog.get(info.id).build_steps()
        assert all(a is not b for a, b in zip(first, second, strict=True))
        assert all(
            type(step).name == spec.step
            for step, spec in zip(first, catalog.get(info.id).steps, strict=True)
        )


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_every_step_refuses_an_unknown_option(name):
    with pytest.raises(TypeError):
        STEP_TYPES[name](no_such_option=1)


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
@pytest.mark.parametrize("shape", [(1, 1, 3), (16, 16, 3), (4, 300, 3), (300, 4, 3), (120, 160)])
def test_every_step_copes_with_tiny_thin_and_grey_frames(name, shape):
    step = STEP_TYPES[name]()
    for index in range(3):
        result = run_step(step, np.full(shape, 100, np.uint8), index)
        assert_plain_json(result)
        assert result, "a step always reports its keys, even when it finds nothing"


def test_each_pipeline_lists_the_labels_its_steps_emit():
    infos = {info.id: info for info in PipelineCatalog.load().infos()}
    assert infos["faces"].labels == ("face",)
    assert infos["people"].labels == ("person",)
    assert infos["faces_qr"].labels == ("face", "qr")
    assert len(infos["objects"].labels) == 80 and "tv" in infos["objects"].labels
    assert infos["quality"].labels == () and infos["scene_cuts"].labels == ()
