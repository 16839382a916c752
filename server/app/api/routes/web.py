"""The web page at `/` and its static files under `/web/`: plain HTML, CSS and JS served
from the package (no build step). They are not part of the JSON API, so they stay out of
the OpenAPI schema; the page itself calls the `/video` routes like any other client."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from app.adapters.exports.annotator import PALETTE

WEB_PACKAGE = ("app.api", "web")

router = APIRouter(include_in_schema=False)


def web_dir() -> Path:
    return Path(str(files(WEB_PACKAGE[0]).joinpath(WEB_PACKAGE[1])))


@router.get("/")
def index() -> FileResponse:
    """The page; `no-cache` so a new release's page is picked up at once."""
    return FileResponse(
        web_dir() / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


def palette_script() -> str:
    """The annotator's colours as the page's TRACK_COLOURS (CSS hex, from BGR), so a
    track has the same colour on its timeline lane as on the frames and the video."""
    colours = ", ".join(f'"#{r:02x}{g:02x}{b:02x}"' for b, g, r in PALETTE)
    return f"// Generated from adapters/exports/annotator.py.\nconst TRACK_COLOURS = [{colours}];\n"


@router.get("/web/palette.js")
def palette() -> Response:
    return Response(palette_script(), media_type="text/javascript")


def static_files() -> StaticFiles:
    """app.js and style.css, mounted at /web by create_app."""
    return StaticFiles(packages=[WEB_PACKAGE])
