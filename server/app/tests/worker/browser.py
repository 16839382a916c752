"""How the browser tests start Debian's Chromium (playwright drives it; no browser download).

The background-networking flags keep Chromium from dialling hosts this machine cannot
reach, which otherwise fail many connections at every start.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("VIDEO_JOBS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
