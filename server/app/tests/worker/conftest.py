"""Fixtures for tests that run the real API and worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.testing.processes import Services, write_pipeline
from app.tests.fixtures.videos import make_moving_box_mp4

# Fast recovery so fault tests finish in seconds (the defaults are 5 s / 30 s / 10 s).
FAST_RECOVERY = {
    "heartbeat_interval_s": 0.3,
    "lease_s": 2.0,
    "sweep_interval_s": 0.5,
    "requeue_after_s": 1.0,
}


@pytest.fixture
def services_factory(tmp_path: Path) -> Iterator:
    created: list[Services] = []

    def make(**settings: object) -> Services:
        services = Services(tmp_path / f"svc{len(created)}", **settings)
        created.append(services)
        return services

    yield make
    for services in created:
        services.close()


@pytest.fixture(scope="session")
def slow_pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A heavy pipeline declared as data: full-resolution steps, repeated, so a job
    runs long enough for a test to act while it is running."""
    folder = tmp_path_factory.mktemp("pipelines")
    heavy = [{"step": "motion", "options": {"max_width": 0, "blur": 15}}] * 4
    heavy += [{"step": "quality", "options": {"max_width": 0}}] * 4
    write_pipeline(folder, "slow", heavy)
    return folder


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_moving_box_mp4(
        tmp_path_factory.mktemp("long") / "long.mp4", count=400, width=640, height=480
    )
