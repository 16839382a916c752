"""The Phase-16 vocabulary validator and the CI workflow that runs it.

The script is run both ways: as a subprocess, exactly as `make test` and CI run it (exit
codes, stdout), and through its imported `main()` so the checks run fast and in-process.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[4]
SCRIPT = REPO_ROOT / "tools" / "validate_phase16_path.py"
VOCABULARY = REPO_ROOT / "tools" / "forbidden_vocabulary_phase16.yaml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "phase16_validation.yml"
CONTRACT_TERMS = {"websocket", "streaming", "gpu_schedule", "distributed", "gpu_worker"}

SMALL_CONFIG = """\
terms:
  - term: websocket
    reason: clients poll
  - term: gpu_worker
    reason: CPU only
paths:
  - server/app/workers/
  - server/app/api/routes/job_submit.py
"""


@pytest.fixture(scope="module")
def validator() -> Iterator[ModuleType]:
    """tools/ is not a package, so the script is loaded from its file (and registered,
    because dataclasses look their module up in sys.modules)."""
    spec = importlib.util.spec_from_file_location("validate_phase16_path", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def make_tree(root: Path, files: dict[str, str], config: str = SMALL_CONFIG) -> Path:
    """A repository-shaped tree with the vocabulary at its default place."""
    (root / "tools").mkdir(parents=True, exist_ok=True)
    (root / "tools" / "forbidden_vocabulary_phase16.yaml").write_text(config)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN_FILES = {
    "server/app/workers/worker.py": "def run() -> None:\n    pass\n",
    "server/app/api/routes/job_submit.py": '"""POST /video/submit."""\n',
}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_planted_term_fails_with_file_line_term(tmp_path: Path) -> None:
    files = {**CLEAN_FILES, "server/app/workers/worker.py": "x = 1\n# push over a websocket\n"}
    root = make_tree(tmp_path, files)

    completed = run_script("--root", str(root))

    assert completed.returncode == 1
    assert completed.stdout.splitlines() == ["server/app/workers/worker.py:2:websocket"]
    assert "clients poll" in completed.stderr  # the reason, so the author knows why


def test_clean_tree_passes(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CLEAN_FILES)

    completed = run_script("--root", str(root))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("OK: 2 file(s)")


def test_match_is_case_insensitive(validator: ModuleType, tmp_path: Path, capsys) -> None:
    files = {
        **CLEAN_FILES,
        "server/app/api/routes/job_submit.py": "from x import WebSocket\nPOOL = 'GPU_Worker'\n",
    }
    root = make_tree(tmp_path, files)

    assert validator.main(["--root", str(root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "server/app/api/routes/job_submit.py:1:websocket",
        "server/app/api/routes/job_submit.py:2:gpu_worker",
    ]


def test_directories_are_scanned_recursively_for_python_only(
    validator: ModuleType, tmp_path: Path, capsys
) -> None:
    files = {
        **CLEAN_FILES,
        "server/app/workers/deep/nested/loop.py": "# gpu_worker pool\n",
        "server/app/workers/notes.txt": "websocket\n",
    }
    root = make_tree(tmp_path, files)

    assert validator.main(["--root", str(root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "server/app/workers/deep/nested/loop.py:1:gpu_worker"
    ]


def test_every_term_on_a_line_is_reported(validator: ModuleType, tmp_path: Path, capsys) -> None:
    files = {**CLEAN_FILES, "server/app/workers/worker.py": "a websocket gpu_worker\n"}
    root = make_tree(tmp_path, files)

    assert validator.main(["--root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "server/app/workers/worker.py:1:websocket",
        "server/app/workers/worker.py:1:gpu_worker",
    ]


def test_missing_vocabulary_file_exits_2(tmp_path: Path) -> None:
    completed = run_script("--root", str(tmp_path), "--config", str(tmp_path / "absent.yaml"))

    assert completed.returncode == 2
    assert "absent.yaml: vocabulary file not found" in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("terms: [websocket\n", "not valid YAML"),
        ("- websocket\n", "expected a mapping"),
        ("paths: [server]\n", "'terms' must be a non-empty list"),
        ("terms:\n  - term: websocket\npaths: [server]\n", "needs a non-empty 'reason'"),
        ("terms:\n  - reason: why\npaths: [server]\n", "needs a non-empty 'term'"),
        ("terms:\n  - {term: x, reason: y}\npaths: []\n", "'paths' must be a non-empty list"),
        ("terms:\n  - {term: x, reason: y}\npaths: [3]\n", "must be a path"),
        ("terms:\n  - {term: x, reason: y}\npaths: [/etc]\n", "relative to the repository"),
        ("terms:\n  - {term: x, reason: y}\npaths: [x]\nextra: 1\n", "unknown key(s) extra"),
    ],
)
def test_malformed_vocabulary_exits_2(
    validator: ModuleType, tmp_path: Path, capsys, config: str, message: str
) -> None:
    root = make_tree(tmp_path, CLEAN_FILES, config=config)

    assert validator.main(["--root", str(root)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_listed_path_that_does_not_exist_exits_2(validator: ModuleType, tmp_path: Path, capsys):
    root = make_tree(tmp_path, {"server/app/workers/worker.py": "pass\n"})  # no job_submit.py

    assert validator.main(["--root", str(root)]) == 2
    assert "'server/app/api/routes/job_submit.py' does not exist" in capsys.readouterr().err


def test_real_vocabulary_lists_the_contract_terms_and_paths(validator: ModuleType) -> None:
    vocabulary = validator.load_vocabulary(VOCABULARY)

    assert {term.term for term in vocabulary.terms} == CONTRACT_TERMS
    assert all(len(term.reason) > 20 for term in vocabulary.terms)
    assert set(vocabulary.paths) == {
        "server/app/api/routes/job_submit.py",
        "server/app/api/routes/job_status.py",
        "server/app/api/routes/job_results.py",
        "server/app/adapters/queue/",
        "server/app/adapters/storage/",
        "server/app/workers/",
        "server/app/adapters/pipeline/video_file_pipeline_service.py",
        "server/app/adapters/pipeline/frame_source.py",
    }


def test_real_repository_is_clean() -> None:
    completed = run_script()

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("OK:")


def test_workflow_runs_the_validator_and_make_test_on_push_and_pull_request() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"push", "pull_request"} <= set(triggers)

    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert any(ref.startswith("actions/checkout@v") for ref in uses)
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "3.11"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any("python tools/validate_phase16_path.py" in run for run in runs)
    assert any(run.strip() == "make test" for run in runs)


def _actionlint() -> str | None:
    venv_binary = Path(sys.executable).with_name("actionlint")
    return str(venv_binary) if venv_binary.is_file() else shutil.which("actionlint")


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed (dev extras)")
def test_workflows_pass_actionlint() -> None:
    completed = subprocess.run(
        ["bash", str(REPO_ROOT / "tools" / "check_workflows.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ACTIONLINT": str(_actionlint())},
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "found no problem" in completed.stdout
