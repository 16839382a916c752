"""Text cells that a spreadsheet opens as text, never as a formula or a terminal command.

A QR payload or a label is attacker-controlled text. Spreadsheets (Excel, LibreOffice,
Google Sheets) evaluate a cell that starts with `=`, `+`, `-` or `@` (some also after a leading
tab), so `=HYPERLINK(...)` or `=cmd|' /C calc'!A0`
in a cell would run. As OWASP's "CSV Injection" page recommends, such a cell gets a
leading single quote (shown as text, not evaluated) and is quoted by the writer.

Control characters are removed first: whole ANSI escape sequences (CSI and OSC, so that
`cat detections.csv` cannot retitle or clear a terminal), then any other C0 control
except tab and line feed (a carriage return goes too), DEL and the C1 block. Only text
columns go through this: numbers (a negative confidence or coordinate) are written as
numbers, unchanged.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t")

# CSI: ESC [ params intermediates final; OSC: ESC ] ... (BEL | ESC \); then other
# two-byte escapes; then the lone control characters that are left.
_ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?"
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """`text` without escape sequences and control characters (tab and newline stay:
    a multi-line QR payload keeps its lines)."""
    return _CONTROL_CHARACTERS.sub("", _ESCAPE_SEQUENCES.sub("", text))


def text_cell(value: object) -> str:
    """A text column's cell: control characters stripped, and a leading quote when a
    spreadsheet would read the rest as a formula."""
    text = strip_control(str(value))
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
