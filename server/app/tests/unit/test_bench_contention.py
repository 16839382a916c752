"""Figure 14's code (tools/benchkit/contention.py) at quick size: children inherit the
CPU affinity they are started with and take their thread budget from it, and the figure
renders. It measures nothing (no speed is asserted)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TOOLS = Path(__file__).resolve().parents[4] / "tools"


@pytest.fixture(scope="module")
def contention() -> Iterator[object]:
    sys.path.insert(0, str(TOOLS))
    try:
        yield importlib.import_module("benchkit.contention")
    finally:
        sys.path.remove(str(TOOLS))


@pytest.fixture(scope="module")
def clip(contention, tmp_path_factory) -> Path:
    clips = importlib.import_module("benchkit.clips")
    path = tmp_path_factory.mktemp("contention") / "clip.mp4"
    return clips.make_tiny_clip(path, count=4, width=64, height=48)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable cores")
def test_children_take_their_budget_from_the_cores_they_inherit(contention, clip):
    before = os.sched_getaffinity(0)
    figures = contention.measure_contention(
        clip, clip, 4, (64, 48), "a tiny clip", pipeline="motion", rounds=1
    )
    assert os.sched_getaffinity(0) == before  # the benchmark's own affinity is back
    assert [run.threads for run in figures.alone] == [1]  # one core, one worker
    assert [run.threads for run in figures.contended] == [1, 1]  # two cores, two workers
    assert all(run.frames == 4 and run.cpu_s > 0 for run in figures.alone + figures.contended)
    rows, section = contention.describe_contention(figures)
    assert rows[0].figure.startswith("14. ") and rows[0].met == (figures.ratio <= 1.25)
    text = "\n".join(section.lines)
    assert "sched_setaffinity" in text and "| contended, cores" in text


def test_the_ratio_is_the_slower_contended_job_over_the_alone_one(contention):
    run = contention.JobRun
    figures = contention.Contention("people", 10, (64, 48), "x", cores=(0, 1))
    figures.alone = [run(2.0, 1.5, 10, 1)]
    figures.contended = [run(2.2, 1.6, 10, 1), run(2.6, 1.7, 10, 1)]
    figures.load = ("1.00 1.00 1.00", "1.10 1.00 1.00")
    assert figures.ratio == pytest.approx(1.3)
    rows, _ = contention.describe_contention(figures)
    assert rows[0].met is False and "1.30x" in rows[0].measured
    assert "CPU ms/frame 160.0, 170.0 vs 150.0" in rows[0].measured


def test_only_14_and_15_are_accepted_and_other_figures_are_refused(contention):
    main = importlib.import_module("benchkit.main")
    assert main.parse_args(["--only", "14", "--only", "15"]).only == [14, 15]
    with pytest.raises(SystemExit):
        main.run_only(main.QUICK, Path("."), {2})
