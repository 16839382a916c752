"""`video-jobs search`: the completed jobs that show a label, a text or a tag."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.client import ApiClient
from app.cli.reports import format_ms, table
from app.cli.terminal import printable

SHOWN_MATCHES = 5  # per job in the table; --json prints them all


def add_search_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", help="jobs with tracks of this label, e.g. dog")
    parser.add_argument("--text", help="jobs where this text was read (substring, any case)")
    parser.add_argument("--tag", help="jobs submitted with this tag (exact match)")
    parser.add_argument(
        "--min-individuals",
        type=int,
        help="the label (or, without --label, any label) has at least this many individuals",
    )
    parser.add_argument("--limit", type=int, default=20, help="how many jobs (1..100, default 20)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many")
    parser.add_argument("--json", action="store_true", help="print the raw JSON")


def search_params(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "label": args.label,
        "text": args.text,
        "tag": args.tag,
        "min_individuals": args.min_individuals,
    }
    params = {name: value for name, value in given.items() if value is not None}
    return {**params, "limit": args.limit, "offset": args.offset}


def match_text(match: dict[str, Any]) -> str:
    value = printable(match["value"])
    shown = f"{value!r}" if match["kind"] == "text" else value
    track = f" #{match['track_id']}" if match.get("track_id") is not None else ""
    return f"{shown}{track} {format_ms(match['start_ms'])}-{format_ms(match['end_ms'])}"


def search(client: ApiClient, args: argparse.Namespace, print_json) -> int:
    """One page of matching jobs: id, name, then the first matches with their times."""
    page = client.request("GET", "/video/search", params=search_params(args))
    if args.json:
        print_json(page)
        return 0
    items = page["items"]
    if not items:
        print(f"no completed job matches (of {page['total']})", file=sys.stderr)
        return 0
    rows = []
    for item in items:
        matches = item["matches"]
        shown = "; ".join(match_text(m) for m in matches[:SHOWN_MATCHES])
        more = len(matches) - SHOWN_MATCHES
        name = printable(item.get("filename") or "")[:40]
        rows.append(
            [
                item["job_id"],
                name,
                printable(item.get("tag") or ""),
                shown + (f" (+{more} more)" if more > 0 else ""),
            ]
        )
    for line in table(["JOB ID", "NAME", "TAG", "MATCHES"], rows):
        print(line)
    last = args.offset + len(items)
    print(f"jobs {args.offset + 1}-{last} of {page['total']}", file=sys.stderr)
    return 0
