"""The export list is the one place an export is named: API routes, the CLI and the
stored keys all follow it."""

from __future__ import annotations

import uuid

import pytest

from app.adapters.exports import SINKS
from app.api.main import create_app
from app.cli.main import build_parser
from app.domain.exports import EXPORTS
from app.domain.model import export_keys
from app.settings import Settings

pytestmark = pytest.mark.unit


def test_every_export_has_a_route_a_cli_format_and_a_stored_key(tmp_path):
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    paths = app.openapi()["paths"]
    export_parser = build_parser()._subparsers._group_actions[0].choices["export"]
    formats = next(a for a in export_parser._actions if a.dest == "format").choices
    job_id = uuid.uuid4()
    for export in EXPORTS:
        assert f"/video/jobs/{{job_id}}/{export.name}" in paths
        assert export.format in formats
        assert export.key(job_id) in export_keys(job_id)
    assert len({e.name for e in EXPORTS}) == len({e.format for e in EXPORTS}) == len(EXPORTS)


def test_every_export_is_written_by_exactly_one_sink():
    written = [name for sink in SINKS for name in sink.writes]
    assert sorted(written) == sorted(e.name for e in EXPORTS)
