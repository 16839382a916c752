"""Property-based API tests: schemathesis generates requests from /openapi.json and runs
all of its checks (no 5xx, every status code and body as documented, auth enforced).

One check is left out on purpose: `positive_data_acceptance` expects any schema-valid
request to succeed, but an upload's content (an MP4 with `ftyp` at byte 4) cannot be
expressed in OpenAPI, so a random file is rightly answered 400.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.api.main import create_app
from app.settings import Settings
from app.testing.processes import free_port

pytestmark = pytest.mark.integration
API_KEY = "schemathesis-key"
HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Built at import because schemathesis parametrizes at collection time; create_app builds
# no adapters (schemathesis' ASGI transport runs the lifespan), only these empty folders.
_DATA_DIRS = [Path(tempfile.mkdtemp(prefix="schemathesis-")) for _ in range(2)]


def _app(data_dir: Path, api_key: str | None):
    config = Settings(
        _env_file=None,
        data_dir=data_dir,
        queue_port=free_port(),
        max_upload_bytes=10**6,
        api_key=api_key,
        webhook_secret="schemathesis-webhooks",
    )
    return create_app(config)


open_schema = schemathesis.openapi.from_asgi("/openapi.json", _app(_DATA_DIRS[0], None))
keyed_schema = schemathesis.openapi.from_asgi("/openapi.json", _app(_DATA_DIRS[1], API_KEY))


@keyed_schema.auth()
class ApiKeyAuth:
    """Valid requests carry the key; schemathesis' own auth checks take it away."""

    def get(self, case, context):
        return API_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "X-API-Key": data}


@pytest.fixture(scope="module", autouse=True)
def _remove_data_dirs():
    yield
    for folder in _DATA_DIRS:
        shutil.rmtree(folder, ignore_errors=True)


@open_schema.parametrize()
@HYPOTHESIS
def test_every_check_passes_without_an_api_key(case):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@keyed_schema.parametrize()
@HYPOTHESIS
def test_every_check_passes_with_an_api_key(case):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
