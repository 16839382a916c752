"""Property-based API test: schemathesis generates requests from /openapi.json and no
generated request may get a 5xx."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.api.main import create_app
from app.settings import Settings
from app.tests.conftest import free_port

pytestmark = pytest.mark.integration

# Built at import because schemathesis parametrizes at collection time; create_app builds
# no adapters (schemathesis' ASGI transport runs the lifespan), only this empty folder.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="schemathesis-"))
_APP = create_app(
    Settings(_env_file=None, data_dir=_DATA_DIR, queue_port=free_port(), max_upload_bytes=10**6)
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _remove_data_dir():
    yield
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_generated_request_gets_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text)
