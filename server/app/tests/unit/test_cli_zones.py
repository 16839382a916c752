"""`video-jobs submit --zones FILE.json` and the counts `summary` prints."""

from __future__ import annotations

import argparse
import json

import pytest

from app.cli.client import CliError
from app.cli.commands import submit_fields
from app.cli.reports import summary_lines


def args(**given) -> argparse.Namespace:
    base = dict(
        sample_fps=None,
        start=None,
        end=None,
        min_confidence=None,
        labels=None,
        tag=None,
        annotate=False,
        zones=None,
    )
    return argparse.Namespace(**(base | given))


def test_the_zones_file_is_sent_as_the_field(tmp_path):
    path = tmp_path / "zones.json"
    path.write_text(json.dumps({"lines": [{"name": "door", "points": [[0, 1], [2, 3]]}]}))
    assert json.loads(submit_fields(args(zones=str(path)))["zones"])["lines"][0]["name"] == "door"
    path.write_text("{")
    with pytest.raises(CliError, match="not valid JSON"):
        submit_fields(args(zones=str(path)))
    with pytest.raises(CliError, match="could not read"):
        submit_fields(args(zones=str(tmp_path / "missing.json")))


def test_summary_prints_line_and_zone_counts():
    summary = {
        "lines": [{"name": "door", "counts": [{"label": "person", "in": 3, "out": 1}]}],
        "zones": [
            {
                "name": "desk",
                "counts": [
                    {
                        "label": "person",
                        "entries": 2,
                        "exits": 2,
                        "individuals": 2,
                        "mean_dwell_ms": 5000,
                        "max_dwell_ms": 7000,
                        "peak_occupancy": 1,
                        "peak_ms": 1500,
                    }
                ],
            }
        ],
    }
    text = "\n".join(summary_lines(summary))
    assert "LINES (1)" in text and "ZONES (1)" in text
    door = next(line for line in text.splitlines() if line.startswith("door"))
    assert door.split() == ["door", "person", "3", "1"]
    desk = next(line for line in text.splitlines() if line.startswith("desk"))
    assert "0:05.000" in desk and "0:07.000" in desk and "1 at 0:01.500" in desk
    assert "LINES" not in "\n".join(summary_lines({}))
