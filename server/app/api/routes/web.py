"""The web page at `/` and its static files under `/web/`: plain HTML, CSS and JS served
from the package (no build step). They are not part of the JSON API, so they stay out of
the OpenAPI schema; the page itself calls the `/video` routes like any other client."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

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


def static_files() -> StaticFiles:
    """app.js and style.css, mounted at /web by create_app."""
    return StaticFiles(packages=[WEB_PACKAGE])
