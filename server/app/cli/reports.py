"""`summary` and `export`: what a completed job found, as tables or as files.

Both read D2's routes (`/video/jobs/{id}/summary`, `/detections.csv`, `/tracks.vtt`,
`/chapters.vtt`, `/quality.csv`, `/annotated.mp4`); a 404 from them says the job has no
such thing (yet), and is reported as "not available" with the server's reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from app.cli.client import ApiClient, ApiError, CliError
from app.cli.terminal import printable
from app.domain.exports import EXPORT_BY_FORMAT

EXPORTS = {export.format: export.name for export in EXPORT_BY_FORMAT.values()}


def format_ms(ms: float | int | None) -> str:
    """Milliseconds as m:ss.mmm (h:mm:ss.mmm past an hour), the way players show time."""
    if ms is None:
        return "-"
    total = round(ms)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{minutes}:{seconds:02d}.{millis:03d}"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Plain aligned columns (two spaces apart), easy to read and to cut."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *rows]
    ]


def _confidence(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    shots = summary.get("shots") or []
    labels = summary.get("labels") or []
    # In the order they began (a summary from an older server lists them as they ended).
    tracks = sorted(
        summary.get("tracks") or [],
        key=lambda t: (t.get("start_ms") or 0, t.get("first_frame") or 0, t.get("track_id") or 0),
    )
    lines = [f"SHOTS ({len(shots)})"]
    lines += table(
        ["SHOT", "START", "END", "FRAMES"],
        [
            [
                str(shot.get("index")),
                format_ms(shot.get("start_ms")),
                format_ms(shot.get("end_ms")),
                f"{shot.get('start_frame')}-{shot.get('end_frame')}",
            ]
            for shot in shots
        ],
    )
    lines += ["", f"LABELS ({len(labels)})"]
    lines += table(
        ["LABEL", "INDIVIDUALS", "TRACKS", "FRAMES", "SCREEN TIME", "MAX CONF"],
        [
            [
                str(item.get("label")),
                # a summary from an older server counts tracks only
                str(item.get("individuals", item.get("tracks"))),
                str(item.get("tracks")),
                str(item.get("frames")),
                format_ms(item.get("screen_time_ms")),
                _confidence(item.get("max_confidence")),
            ]
            for item in labels
        ],
    )
    lines += ["", f"TRACKS ({len(tracks)})"]
    lines += table(
        ["TRACK", "LABEL", "START", "END", "FRAMES", "MAX CONF", "BEST FRAME"],
        [
            [
                f"#{track.get('track_id')}",
                str(track.get("label")),
                format_ms(track.get("start_ms")),
                format_ms(track.get("end_ms")),
                str(track.get("frames")),
                _confidence(track.get("max_confidence")),
                str(track.get("best_frame")),
            ]
            for track in tracks
        ],
    )
    lines += _texts_lines(summary.get("texts") or [])
    lines += zone_lines(summary)
    for warning in summary.get("warnings") or []:
        lines.append(f"warning: {warning}")
    return lines


def _texts_lines(texts: list[dict[str, Any]]) -> list[str]:
    """The lines of text read (a text pipeline's jobs only), with escape sequences and
    control characters removed: a video's text is not the terminal's business."""
    if not texts:
        return []
    rows = [
        [
            format_ms(item.get("start_ms")),
            format_ms(item.get("end_ms")),
            " ".join(f"#{t}" for t in item.get("track_ids") or []),
            " ".join(printable(item.get("text", "")).split()),
        ]
        for item in texts
    ]
    return ["", f"TEXTS ({len(texts)})", *table(["START", "END", "TRACKS", "TEXT"], rows)]


def zone_lines(summary: dict[str, Any]) -> list[str]:
    """The counts of a job submitted with `zones` (none for other jobs)."""
    lines: list[str] = []
    if "lines" in summary:
        rows = [
            [str(line.get("name")), str(c.get("label")), str(c.get("in")), str(c.get("out"))]
            for line in summary.get("lines") or []
            for c in line.get("counts") or [{"label": "-", "in": 0, "out": 0}]
        ]
        lines += ["", f"LINES ({len(summary.get('lines') or [])})"]
        lines += table(["LINE", "LABEL", "IN", "OUT"], rows)
    if "zones" in summary:
        rows = [
            [
                str(zone.get("name")),
                str(c.get("label")),
                str(c.get("entries")),
                str(c.get("exits")),
                str(c.get("individuals")),
                format_ms(c.get("mean_dwell_ms")),
                format_ms(c.get("max_dwell_ms")),
                f"{c.get('peak_occupancy')} at {format_ms(c.get('peak_ms'))}",
            ]
            for zone in summary.get("zones") or []
            for c in zone.get("counts") or []
        ]
        lines += ["", f"ZONES ({len(summary.get('zones') or [])})"]
        lines += table(
            ["ZONE", "LABEL", "ENTRIES", "EXITS", "INDIVIDUALS", "MEAN DWELL", "MAX DWELL", "PEAK"],
            rows,
        )
    return lines


def _not_available(what: str, job_id: str, exc: ApiError) -> CliError:
    return CliError(f"{what} of job {job_id} is not available: {exc}")


def summary(client: ApiClient, job_id: str, raw: bool) -> int:
    try:
        document = client.summary(job_id)
    except ApiError as exc:
        if exc.status_code in (404, 410):
            raise _not_available("the summary", job_id, exc) from exc
        raise
    if raw:
        json.dump(document, sys.stdout, indent=2)
        print()
        return 0
    for line in summary_lines(document):
        print(printable(line))
    return 0


def export(client: ApiClient, console: Console, job_id: str, kind: str, output: str | None) -> int:
    name = EXPORTS[kind]
    target = Path(output) if output else Path(f"{job_id}-{name}")
    progress = Progress(
        TextColumn(f"downloading {name}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    )
    try:
        with progress:
            task = progress.add_task("download", total=None)
            size = client.download(
                f"/video/jobs/{job_id}/{name}", target, lambda n: progress.advance(task, n)
            )
    except ApiError as exc:
        if exc.status_code in (404, 410):
            raise _not_available(name, job_id, exc) from exc
        raise
    console.print(escape(f"wrote {name} of job {job_id} ({size} bytes) to {target}"))
    if output is None:
        print(target, file=sys.stdout)
    return 0
