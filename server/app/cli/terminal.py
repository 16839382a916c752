"""Text from a server, made safe to show on a terminal.

A job's error message, a file name, a tag or a label comes from the API, and the API
repeats what clients sent; printed raw, an OSC or CSI escape sequence in it could retitle
the window, clear the screen or hide what follows. Everything the CLI prints for a
person passes through `printable`; JSON output is safe already (`json.dump` escapes
every control character).
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _ ...
# up to BEL or ESC \, or to the end of the text when unterminated), and two-byte escapes.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
)
# What is left: C0 controls, DEL and the C1 controls (U+0080..U+009F, e.g. U+009B, a
# one-character CSI some terminals obey).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """`text` as one line with no escape sequence or control character left: sequences
    are dropped, other controls (newlines and tabs too) become a space."""
    return _CONTROL.sub(" ", _ESCAPE_SEQUENCE.sub("", str(text)))
