"""The README's and docs/job-control.md's shell examples, pasted in order into a shell
against a live API and worker (real processes) with a generated clip as `sample.mp4`:
every command must succeed (`curl -f` fails on an HTTP error, so a download started
before its job completed fails the test instead of saving a JSON error as the file).

The blocks run are those right after a `<!-- docs-example ... -->` line. The only edits
are the ones a reader's machine makes for them: the test's port for 127.0.0.1:8000 and
this interpreter's bin folder for `.venv/bin/`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.tests.fixtures.videos import make_moving_box_mp4

pytestmark = pytest.mark.worker

REPO_ROOT = Path(__file__).resolve().parents[4]
DOCUMENTS = ("README.md", "docs/job-control.md")
MARKER = "<!-- docs-example"
BLOCK = re.compile(re.escape(MARKER) + r"[^\n]*\n```sh\n(.*?)```", re.DOTALL)


def example_blocks(document: str) -> list[str]:
    return BLOCK.findall((REPO_ROOT / document).read_text())


def test_every_document_has_examples_to_run():
    for document in DOCUMENTS:
        assert example_blocks(document), f"{document} has no {MARKER} block"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_examples_work_when_pasted_in_order(services_factory, tmp_path, document):
    services = services_factory()
    services.start_api()
    services.start_worker()
    folder = tmp_path / "reader"
    folder.mkdir()
    make_moving_box_mp4(folder / "sample.mp4", count=75)  # 3 s at 25 fps
    url = f"http://127.0.0.1:{services.api_port}"
    script = "\n".join(example_blocks(document))
    script = script.replace("http://127.0.0.1:8000", url)
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    env = {**services.env, "VIDEO_JOBS_API_PORT": str(services.api_port)}
    env.pop("VIDEO_JOBS_URL", None)  # the CLI finds the API from VIDEO_JOBS_API_PORT
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-x", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert done.returncode == 0, f"{done.stderr[-6000:]}\n{services.log_of(services.api)[-3000:]}"
    for name in ("annotated.mp4", "detections.csv", "tracks.vtt"):
        if (folder / name).exists():
            head = (folder / name).read_bytes()[:16]
            assert not head.startswith(b"{"), f"{name} holds an error, not the file"
    if document == "docs/job-control.md":  # its last block downloads the exports
        assert (folder / "annotated.mp4").read_bytes()[4:8] == b"ftyp"
        assert (folder / "tracks.vtt").read_text().startswith("WEBVTT")
