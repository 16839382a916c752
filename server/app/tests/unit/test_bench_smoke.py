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


def test_segment_figure_projects_from_what_was_measured(benchkit):
    from benchkit.segments import SplitFigures, SplitRun, describe_segments, projected_wall

    runs = [
        SplitRun("unsplit, 1 worker", 1, False, 600.0, 0, 0.0),
        SplitRun("split, 1 worker", 1, True, 630.0, 5, 10.0),
        SplitRun("split, 2 workers", 2, True, 330.0, 5, 10.0),
    ]
    figures = SplitFigures(600.0, (1280, 720), 60, 120.0, "people", 2.0, runs)
    rows, section = describe_segments(figures)
    assert rows[0].met is True  # 630 / 330 = 1.91x
    assert "1.91x" in rows[0].measured
    # overhead (630 - 600 - 10) / 5 = 4 s per segment, shown and used by the model
    assert any("4.00 s" in line for line in section.lines)
    one_worker = projected_wall(600.0, 600.0, 120.0, 4.0, 10.0, 1)
    assert one_worker == pytest.approx(5 * (600.0 * 123 / 600 + 4.0) + 10.0)
    assert projected_wall(600.0, 600.0, 120.0, 4.0, 10.0, 8) < one_worker / 4
    slow = SplitRun("split, 2 workers", 2, True, 500.0, 5, 10.0)
    rows, _ = describe_segments(
        SplitFigures(600.0, (1280, 720), 60, 120.0, "people", 2.0, [*runs[:2], slow])
    )
    assert rows[0].met is False
