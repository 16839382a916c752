"""All configuration in one pydantic-settings class (prefix VIDEO_JOBS_, also read from .env)."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.frames import FrameLimits
from app.domain.zone_events import ZoneRules
from app.domain.zones import ZoneLimits

QUEUE_KEY_FILE = "queue.key"
_LIMITS = FrameLimits()
MIN_KEY_BYTES = 32
log = logging.getLogger(__name__)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDEO_JOBS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str = ""
    queue_host: str = "127.0.0.1"
    queue_port: int = Field(default=50051, ge=0, le=65535)
    queue_authkey: str = ""
    # With a redis:// URL the queue lives in Redis and the API no longer hosts it, so
    # workers on other hosts can reach it.
    queue_url: str | None = None
    queue_name: str = "video_jobs"
    api_key: str | None = None
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    default_pipeline: str = "motion"
    pipelines_dir: Path | None = None

    # Reliability knobs (not in the Phase-16 contract; documented in docs/failure-model.md).
    # The heartbeat also carries frame progress and notices a cancel: keep it short.
    heartbeat_interval_s: float = Field(default=0.5, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    stall_timeout_s: float = Field(default=300.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    sweep_interval_s: float = Field(default=10.0, gt=0)
    requeue_after_s: float = Field(default=30.0, ge=0)
    # An upload's temporary file idle this long was left by a killed API; a job's is
    # judged by its job's status and lease instead (docs/failure-model.md).
    abandoned_write_age_s: float = Field(default=900.0, gt=0)

    # One long video across many workers (docs/deployment.md#splitting-long-videos): a
    # video longer than split_min_s (0: never) is analysed as segments of about
    # segment_s, each running segment_overlap_s into the next (at least the tracker's
    # 1 s gap window, so a track crossing a seam is seen by both segments).
    split_min_s: float = Field(default=600.0, ge=0)
    segment_s: float = Field(default=120.0, gt=0)
    segment_overlap_s: float = Field(default=3.0, ge=1.0)

    # Job control (docs/job-control.md).
    webhook_secret: str | None = None
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_retry_base_s: float = Field(default=1.0, gt=0)
    retention_hours: float | None = Field(default=None, gt=0)
    min_free_bytes: int = Field(default=0, ge=0)
    idempotency_ttl_hours: float = Field(default=24.0, ge=24.0)

    # Limits (contract "Limits"): no upload or request can take the service down.
    # The defaults are the domain's (FrameLimits), so they are written once.
    max_pixels: int = Field(default=_LIMITS.max_pixels, gt=0)
    max_duration_s: float = Field(default=_LIMITS.max_duration_s, gt=0)
    max_frames: int = Field(default=_LIMITS.max_frames, gt=0)
    max_job_s: float = Field(default=_LIMITS.max_job_s, gt=0)
    max_detections_per_frame: int = Field(default=_LIMITS.max_detections_per_frame, ge=1)
    webhook_allow_private: bool = False

    # Bounds on reads, frame images, webhooks and connections: no client can exhaust them.
    frame_workers: int = Field(default=2, ge=1, le=16)
    frame_queue: int = Field(default=16, ge=0, le=256)  # waiting costs no decode memory
    frame_decode_budget: int = Field(default=300, ge=1)
    frame_decode_timeout_s: float = Field(default=10.0, gt=0)
    results_scan_frames: int = Field(default=10_000, ge=1)
    results_page_bytes: int = Field(default=4 << 20, ge=4096)  # item text per results page
    webhook_workers: int = Field(default=16, ge=1, le=256)
    webhook_per_destination: int = Field(default=2, ge=1, le=64)
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_body_timeout_s: float = Field(default=30.0, gt=0)
    http_keep_alive_s: int = Field(default=5, ge=1)
    http_limit_concurrency: int = Field(default=1000, ge=10)
    # One address may hold this many connections (0: no bound, behind a reverse proxy);
    # this share of the concurrency limit (at least one connection) serves /health only.
    http_max_connections_per_client: int = Field(default=64, ge=0)
    http_health_reserved_share: float = Field(default=0.05, gt=0, le=0.5)
    http_over_limit_header_timeout_s: float = Field(default=2.0, gt=0)

    # Operations (not in the Phase-16 contract; documented in docs/cli-and-web.md).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Where `make run` (app/run.py) serves the API, and where the CLI looks for it.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # Search across jobs: what a completed job's index holds, and what one search may read.
    search_index_max_rows: int = Field(default=10_000, ge=1)  # tracks + texts per job
    search_max_matches_per_job: int = Field(default=50, ge=1, le=1000)
    search_max_text_chars: int = Field(default=200, ge=1, le=10_000)

    # Inference threads: each worker's share of the host's cores (onnxruntime and OpenCV
    # pools). 0 = auto: max(1, usable cores // workers_per_host).
    workers_per_host: int = Field(default=1, ge=1, le=256)
    inference_threads: int = Field(default=0, ge=0, le=256)

    # Text on screen (the `text` step, PP-OCR): OCR reads a frame at a new shot, then at
    # most once every text_every_s seconds (0 = every analysed frame) and only where the
    # picture changed: a share text_change of a 160x90 grey copy's pixels changed by
    # over 24 grey levels since the last frame read (0.002: about 29 pixels).
    text_every_s: float = Field(default=1.0, ge=0, le=3600)
    text_change: float = Field(default=0.002, ge=0, le=1)
    # Least recognition confidence of a line kept. rapidocr's own 0.5 kept one-letter
    # readings of textures (a baboon's fur, a cartoon fish) at 0.5-0.8 on about 20 of
    # the ~90 pictures opencv-doc and darknet ship; lines read right scored 0.86-1.0.
    text_min_score: float = Field(default=0.8, ge=0, lt=1)
    # Confirmed tracks: a track enters the summary, CSV and VTT once it has this many
    # hits (detections a model made, not carried or held boxes), this much summed
    # confidence over them and lasts this long (a shorter shot caps what is asked);
    # then tracks of one label that the tracker lost and found again (starting within
    # the join gap, near where the earlier one was heading) count as one individual.
    confirm_min_hits: int = Field(default=3, ge=1, le=1000)
    confirm_min_score: float = Field(default=1.5, ge=0, le=1000)
    confirm_min_duration_ms: int = Field(default=300, ge=0, le=600_000)
    join_gap_ms: int = Field(default=1000, ge=0, le=60_000)
    join_distance: float = Field(default=1.0, ge=0, le=100)
    # The tracker's appearance cue (a colour histogram per box, adapters/pipeline/
    # appearance.py): breaks ties between crossing objects and re-finds a lost track.
    # On: vtest's who-is-who IDF1 0.583 -> 0.675, switches 20 -> 16, the other tracking
    # evals unchanged (docs/accuracy.md, "who is who on real footage").
    tracker_appearance: bool = True
    # The same face across shots (persons): face tracks signed and grouped into persons.
    person_signatures_per_track: int = Field(default=3, ge=1, le=20)
    person_min_face_px: int = Field(default=40, ge=16)
    person_signature_spacing_ms: int = Field(default=500, ge=0)
    person_max_distance: float = Field(default=0.5, gt=0, le=2)
    person_max_tracks: int = Field(default=2000, ge=1, le=20000)

    # Zones and lines (submit option `zones`): its bounds, and how events are counted.
    zones_max_bytes: int = Field(default=16 * 1024, ge=64, le=64 * 1024)
    zones_max_zones: int = Field(default=16, ge=0, le=256)
    zones_max_lines: int = Field(default=16, ge=0, le=256)
    zones_max_points: int = Field(default=64, ge=3, le=1024)
    # Hysteresis: an anchor must get this far past a line (or out of a zone), as a share
    # of the frame's height, before it changes side, so jitter on the edge counts once.
    zones_band: float = Field(default=0.015, ge=0.0, le=0.2)
    # Labels anchored at their box's bottom-centre (where they touch the ground); every
    # other label at its box's centre.
    zones_bottom_anchor_labels: str = "person,car,truck,bus,motorcycle,bicycle"

    # Zone events by webhook (`callback_events`): the most events one job's zone.events
    # body carries (about 150 bytes each); past it the body says truncated, with a warning.
    webhook_max_zone_events: int = Field(default=10_000, ge=1, le=200_000)

    def zone_limits(self) -> ZoneLimits:
        return ZoneLimits(
            self.zones_max_bytes, self.zones_max_zones, self.zones_max_lines, self.zones_max_points
        )

    def zone_rules(self) -> ZoneRules:
        labels = (x.strip() for x in self.zones_bottom_anchor_labels.split(","))
        return ZoneRules(band=self.zones_band, bottom_anchor=frozenset(x for x in labels if x))

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Resolve against the working directory once, at start, as the contract says."""
        return value.expanduser().resolve()

    @field_validator("queue_url")
    @classmethod
    def _redis_queue_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("VIDEO_JOBS_QUEUE_URL must be a redis://, rediss:// or unix:// URL")
        return value or None

    @field_validator("api_key", "webhook_secret", "retention_hours", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    # Keyframes and black segments: each shot's keyframe JPEG width, and what a black
    # or nearly uniform frame is (grey mean, colour spread of a 160 px copy, 0..255).
    keyframe_width: int = Field(default=320, ge=16, le=1920)
    black_max_mean: float = Field(default=16.0, ge=0.0, lt=255.0)
    uniform_max_std: float = Field(default=5.0, ge=0.0, lt=128.0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("worker_metrics_port", mode="before")
    @classmethod
    def _blank_metrics_port_is_off(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'jobs.db'}"
        return self

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "video_jobs"

    @property
    def worker_reports_dir(self) -> Path:
        """Where workers report what they cannot do, for /health."""
        return self.data_dir / "workers"

    def resolve_authkey(self) -> bytes:
        """The queue authkey: from settings, else `<DATA_DIR>/queue.key`, created once (0600).

        Raises QueueKeyError (and logs why) for a key under MIN_KEY_BYTES or a key file
        that group or others can read: anyone holding the key can run code in the API."""
        if self.queue_authkey:
            return checked_key(self.queue_authkey.encode(), "VIDEO_JOBS_QUEUE_AUTHKEY")
        return load_or_create_key(self.data_dir / QUEUE_KEY_FILE)


class QueueKeyError(ValueError):
    """The queue authkey cannot be used safely; the API and workers refuse to start."""


def checked_key(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        message = (
            f"the queue authkey from {source} is {len(key)} bytes; at least {MIN_KEY_BYTES} are "
            "needed (remove the key file to have a new one made, or set a longer "
            "VIDEO_JOBS_QUEUE_AUTHKEY)"
        )
        log.error("%s", message)
        raise QueueKeyError(message)
    return key


def read_key_file(path: Path) -> bytes:
    """The key in `path`, refused when group or others have any access to the file."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        message = (
            f"the queue key file {path} has mode {mode:04o}: group or others can read it; "
            f"run `chmod 600 {path}`"
        )
        log.error("%s", message)
        raise QueueKeyError(message)
    return checked_key(path.read_bytes().strip(), str(path))


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it atomically with a fresh random key and mode 0600."""
    try:
        return read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)  # fails if another process created it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return read_key_file(path)


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once (environment and `.env`): what the parts that
    uvicorn builds outside the app (the connection limits, the read timeouts) use, and
    what an entry point uses when it is given none."""
    return Settings()
