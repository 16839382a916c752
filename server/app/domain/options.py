"""What part of the work a submit asks for (contract "Analysis options").

Plain data, validated once at submit and stored with the job as a dict, so the worker
runs exactly what the client asked for and status and results echo it back. Clients send
every option as text (form fields or query parameters); `parse_options` turns that text
into `AnalysisOptions` or raises `InvalidOptions` with a sentence naming the field.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app.domain.errors import InvalidOptions
from app.domain.zones import ZoneLimits, ZoneSpec, parse_zones

OPTION_FIELDS = (
    "sample_fps",
    "start_s",
    "end_s",
    "min_confidence",
    "labels",
    "annotate",
    "zones",
    "callback_events",
    "split",
)
# The submit fields that are not analysis options but travel with them.
SUBMIT_FIELDS = (*OPTION_FIELDS, "tag")
MAX_TAG_CHARS = 256
MAX_FILENAME_CHARS = 255
MAX_LABELS = 100
MAX_LABEL_CHARS = 64
# The longest `labels` text that can be valid (100 labels of 64 characters, a comma and a
# blank between): refused before it is split, so a huge field costs one length check.
MAX_LABELS_TEXT = MAX_LABELS * (MAX_LABEL_CHARS + 2)
# A number is a few characters; anything longer is refused before it is parsed.
MAX_NUMBER_TEXT = 64
# Upper bounds of the numeric options: far past any real video, small enough that the
# worker's arithmetic on them (frames, milliseconds) stays finite and exact.
MAX_SAMPLE_FPS = 1000.0
MAX_TIME_S = 864_000.0  # 10 days
# Bidirectional controls: they reorder the text around them when it is displayed.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"  # Arabic letter mark, left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class AnalysisOptions:
    """`sample_fps`: analyse at most this many frames per second of video (by timestamp);
    `start_s`/`end_s`: the time range (start inclusive, end exclusive); `min_confidence`:
    drop weaker detections; `labels`: keep only these labels; `annotate`: also render an
    annotated video; `zones`: named polygons and lines to count in (`domain/zones.py`),
    kept as the checked JSON object so status and results echo it; `callback_events`:
    also POST the zone events to the callback_url when the job completes
    (`domain/zone_hooks.py`), so it needs `zones` (and the submit, a callback_url);
    `split`: a long video may be analysed as segments by several workers (false: by one).
    `slots_from_s` is internal, never parsed from a submit: a segment's sampling slots
    count from its parent's start, so segments pick the frames an unsplit run picks."""

    sample_fps: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    min_confidence: float | None = None
    labels: tuple[str, ...] | None = None
    annotate: bool = False
    zones: dict[str, Any] | None = None
    callback_events: bool = False
    split: bool = True
    slots_from_s: float | None = None

    def zone_spec(self) -> ZoneSpec | None:
        return ZoneSpec.from_dict(self.zones) if self.zones else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels) if self.labels is not None else None
        if self.zones is None:  # only jobs that asked for zones echo the key
            del data["zones"]
        if not self.callback_events:  # likewise: echoed only when asked for
            del data["callback_events"]
        if self.split:  # echoed only when turned off
            del data["split"]
        if self.slots_from_s is None:  # segments only
            del data["slots_from_s"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnalysisOptions:
        """The options stored with a job (None for jobs older than options: all defaults)."""
        if not data:
            return cls()
        known: dict[str, Any] = {
            name: data.get(name) for name in cls.__dataclass_fields__ if name in data
        }
        if known.get("labels") is not None:
            known["labels"] = tuple(known["labels"])
        known["annotate"] = bool(known.get("annotate", False))
        known["callback_events"] = bool(known.get("callback_events", False))
        known["split"] = bool(known.get("split", True))
        return cls(**known)


def merge_sources(
    form: Mapping[str, str | None], query: Mapping[str, str | None]
) -> dict[str, str]:
    """One value per field from a form and a query string, as for `pipeline_id`: either
    may carry it, and when both do they must agree. Empty values count as not given (a
    web form sends its empty inputs)."""
    merged: dict[str, str] = {}
    for name in SUBMIT_FIELDS:
        in_form, in_query = form.get(name) or None, query.get(name) or None
        if in_form is not None and in_query is not None and in_form != in_query:
            raise InvalidOptions(
                f"{name} given twice and they differ: form {in_form!r}, query {in_query!r}"
            )
        value = in_form if in_form is not None else in_query
        if value is not None:
            merged[name] = value
    return merged


def parse_options(raw: Mapping[str, str], zone_limits: ZoneLimits | None = None) -> AnalysisOptions:
    """The options from their text form; InvalidOptions names the first bad field."""
    start_s = _number(raw, "start_s", minimum=0.0, maximum=MAX_TIME_S)
    end_s = _number(raw, "end_s", minimum=0.0, maximum=MAX_TIME_S, inclusive=False)
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise InvalidOptions(
            f"end_s ({end_s:g}) must be greater than start_s ({start_s:g}); "
            "start_s is inclusive, end_s exclusive"
        )
    min_confidence = _number(raw, "min_confidence", minimum=0.0, maximum=1.0)
    zones = parse_zones(raw.get("zones"), zone_limits)
    callback_events = _boolean(raw, "callback_events")
    if callback_events and zones is None:
        raise InvalidOptions(
            "callback_events needs zones: it sends the zone and line events of the job"
        )
    return AnalysisOptions(
        sample_fps=_number(raw, "sample_fps", minimum=0.0, maximum=MAX_SAMPLE_FPS, inclusive=False),
        start_s=start_s,
        end_s=end_s,
        min_confidence=min_confidence,
        labels=_labels(raw.get("labels")),
        annotate=_boolean(raw, "annotate"),
        zones=zones.to_dict() if zones is not None else None,
        callback_events=callback_events,
        split=_boolean(raw, "split") if (raw.get("split") or "").strip() else True,
    )


def parse_tag(value: str | None) -> str | None:
    """Free text to find the job again; surrounding blanks are not part of it."""
    if value is None or not value.strip():
        return None
    tag = value.strip()
    if len(tag) > MAX_TAG_CHARS:
        raise InvalidOptions(f"tag is {len(tag)} characters; at most {MAX_TAG_CHARS} are allowed")
    if any(_unsafe(ch) for ch in tag):
        raise InvalidOptions(
            "tag must not contain control characters (newlines, tabs, C1 controls, "
            "bidirectional overrides, ...)"
        )
    return tag


def _unsafe(ch: str) -> bool:
    """A control character (C0, DEL, C1), a line or paragraph separator, or a
    bidirectional control: each can change how the text around it is displayed."""
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def display_filename(name: str | None) -> str | None:
    """The client's file base name for display: any folder part (`/` or `\\`) and
    control characters dropped, at most MAX_FILENAME_CHARS (the extension kept). It is
    never used to build a path on disk. Control and bidirectional characters are dropped
    too (a right-to-left override makes `clip\u202egpj.mp4` display as `clip4pm.jpg`)."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if not _unsafe(ch)).strip()
    if not base:
        return None
    if len(base) > MAX_FILENAME_CHARS:
        stem, dot, suffix = base.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            base = stem[: MAX_FILENAME_CHARS - len(suffix) - 1] + "." + suffix
        else:
            base = base[:MAX_FILENAME_CHARS]
    return base


def check_labels(options: AnalysisOptions, pipeline_id: str, emits: Iterable[str]) -> None:
    """Labels a pipeline can never emit would filter everything away: refuse them,
    naming the ones it can. A pipeline that declares no labels accepts any."""
    known = tuple(emits)
    if options.labels is None or not known:
        return
    unknown = [label for label in options.labels if label not in known]
    if unknown:
        raise InvalidOptions(
            f"unknown label(s) {', '.join(repr(x) for x in unknown)} for pipeline "
            f"{pipeline_id!r}; it can emit: {', '.join(known)}"
        )


def _number(
    raw: Mapping[str, str], name: str, *, minimum: float, maximum: float, inclusive: bool = True
) -> float | None:
    text = raw.get(name)
    if text is None or not text.strip():
        return None
    if len(text) > MAX_NUMBER_TEXT:
        raise InvalidOptions(
            f"{name} is {len(text)} characters long; a number has at most {MAX_NUMBER_TEXT}"
        )
    try:
        value = float(text)
    except ValueError:
        raise InvalidOptions(f"{name} must be a number, not {_shown(text)}") from None
    if not math.isfinite(value):
        raise InvalidOptions(f"{name} must be a finite number, not {_shown(text)}")
    if value < minimum or (not inclusive and value == minimum):
        relation = ">=" if inclusive else ">"
        raise InvalidOptions(f"{name} must be {relation} {minimum:g}, not {value:g}")
    if value > maximum:
        raise InvalidOptions(f"{name} must be between {minimum:g} and {maximum:g}, not {value:g}")
    return value


def _labels(text: str | None) -> tuple[str, ...] | None:
    """Distinct labels in the order given: the raw length is checked first, then one
    pass over the parts (a dict keeps the first of each), so the cost is linear."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LABELS_TEXT:
        raise InvalidOptions(
            f"labels is {len(text)} characters long; at most {MAX_LABELS_TEXT} are "
            f"accepted ({MAX_LABELS} labels of at most {MAX_LABEL_CHARS} characters)"
        )
    labels: dict[str, None] = {}
    for part in text.split(","):
        label = part.strip()
        if not label:
            continue
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidOptions(f"a label is at most {MAX_LABEL_CHARS} characters long")
        labels[label] = None
    if not labels:
        return None
    if len(labels) > MAX_LABELS:
        raise InvalidOptions(f"labels lists {len(labels)} labels; at most {MAX_LABELS}")
    return tuple(labels)


def _boolean(raw: Mapping[str, str], name: str) -> bool:
    text = (raw.get(name) or "").strip().lower()
    if not text:
        return False
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidOptions(f"{name} must be true or false, not {_shown(raw[name])}")


def _shown(text: str) -> str:
    """A bad value quoted back, cut short so a huge field is not echoed whole."""
    return repr(text if len(text) <= 40 else text[:40] + "...")
