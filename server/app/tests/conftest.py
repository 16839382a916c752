"""Shared fixtures: a temporary DATA_DIR, Settings on free ports, generated clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from app.testing.processes import free_port
from app.tests.fixtures.videos import make_moving_box_mp4


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Settings isolated from the environment and any .env: temp DATA_DIR, free port."""
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        queue_port=free_port(),
        queue_authkey="",
        api_key=None,
        database_url="",
        pipelines_dir=None,
    )


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-frame 320x240 MP4 of a moving box (generated, never committed)."""
    return make_moving_box_mp4(tmp_path_factory.mktemp("clips") / "box.mp4", count=30)
