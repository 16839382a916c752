"""`make bench` measures; `make test` only checks that its code still loads and renders
(every benchkit module imports the app modules it measures, so a renamed function
fails here rather than in the next benchmark run)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TOOLS = Path(__file__).resolve().parents[4] / "tools"


@pytest.fixture(scope="module")
def benchkit() -> Iterator[None]:
    """tools/ is not a package: benchkit is imported with tools/ on the path."""
    sys.path.insert(0, str(TOOLS))
    try:
        yield
    finally:
        sys.path.remove(str(TOOLS))


def test_every_benchkit_module_imports_and_the_report_renders(benchkit, tmp_path):
    names = sorted(p.stem for p in (TOOLS / "benchkit").glob("*.py") if p.stem != "__init__")
    modules = {name: importlib.import_module(f"benchkit.{name}") for name in names}
    main, report, clips, frames = (modules[n] for n in ("main", "report", "clips", "frames"))
    assert main.parse_args(["--quick"]).quick is True
    clip = clips.make_tiny_clip(tmp_path / "tiny.mp4", count=3)
    assert frames.decode_only(clip) == 3
    machine = modules["machine"].Machine("cpu", 2, 1.0, "6.1", "0.00 0.00 0.00")
    rows = [report.Row("1. frame throughput", "1 fps", "-", None)]
    text = report.render(
        report.Report(rows, [report.Section("1. frame throughput", ["line"])]),
        machine=machine,
        versions={"python": "3"},
        command="tools/bench.py --quick",
        started="2026-01-01 00:00",
        duration_s=1.0,
        load_after="0.00 0.00 0.00",
        quick=True,
    )
    assert text.startswith("# Benchmarks") and "Quick mode" in text and "| 1. frame" in text
