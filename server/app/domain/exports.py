"""The files a job can be downloaded as, in one list: the worker writes them, the API
serves them under `/video/jobs/{id}/<name>`, the CLI's `export --format` and the page's
download links offer them. A new export is an entry here and a sink that writes it
(`adapters/exports`), and nothing else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.domain.options import AnalysisOptions


@dataclass(frozen=True)
class ExportFile:
    name: str  # the URL's last part, and the downloaded file's suffix
    format: str  # the CLI's `export --format` value
    media_type: str
    description: str  # one line for OpenAPI, the CLI's help and the page
    # The submit option that asks for it (None: every job has it).
    option: str | None = None
    # Sent as a download (Content-Disposition) rather than for a player to open.
    attachment: bool = False
    # Why a completed job that asked for it may still have none (the 404's reason).
    missing: str = "it completed before this export existed"

    def key(self, job_id: uuid.UUID) -> str:
        """Storage key: `<job_id>_<name>` beside the job's other files."""
        return f"{job_id}_{self.name}"

    def wanted(self, options: AnalysisOptions) -> bool:
        return self.option is None or bool(getattr(options, self.option))


EXPORTS: tuple[ExportFile, ...] = (
    ExportFile(
        "detections.csv",
        "csv",
        "text/csv; charset=utf-8",
        "one row per detection: frame_index,timestamp_ms,label,track_id,x,y,w,h,confidence,text",
        attachment=True,
    ),
    ExportFile(
        "tracks.vtt",
        "vtt",
        "text/vtt; charset=utf-8",
        "WebVTT, one cue `<label> #<track_id>` per track (a <track> for the <video>)",
    ),
    ExportFile(
        "chapters.vtt",
        "chapters",
        "text/vtt; charset=utf-8",
        'WebVTT chapters, one cue "Shot <n>" per shot (a <track kind="chapters">)',
    ),
    ExportFile(
        "quality.csv",
        "quality",
        "text/csv; charset=utf-8",
        "per analysed frame: frame_index,timestamp_ms,brightness,contrast,sharpness",
        attachment=True,
        missing="its pipeline has no quality step (or it completed before this export existed)",
    ),
    ExportFile(
        "contact_sheet.jpg",
        "contact",
        "image/jpeg",
        "every shot's keyframe in one JPEG grid (up to 120, spread over the shots)",
    ),
    ExportFile(
        "events.csv",
        "events",
        "text/csv; charset=utf-8",
        "zone and line events: timestamp_ms,frame_index,kind,name,label,track_id,direction,"
        "dwell_ms (zones=...)",
        option="zones",
        attachment=True,
    ),
    ExportFile(
        "annotated.mp4",
        "mp4",
        "video/mp4",
        "the analysed frames with boxes, labels and track ids, H.264 in MP4 (annotate=true)",
        option="annotate",
    ),
)
EXPORT_BY_NAME = {export.name: export for export in EXPORTS}
EXPORT_BY_FORMAT = {export.format: export for export in EXPORTS}
