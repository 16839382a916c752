"""Phase-16 governance: fail when a forbidden term appears in a Phase-16 code path.

Phase 16 is deliberately small (one host, an in-memory queue, local files, a CPU frame
loop). Words such as `websocket` or `distributed` in its code mean a later phase's scope
has crept in, so `make test` and CI run this check before anything else. The terms, why
each is forbidden, and the paths they cover live in one reviewed file,
`tools/forbidden_vocabulary_phase16.yaml`, so changing the rule is a visible diff.

Matching is case-insensitive and by substring, in code, comments and docstrings alike.
A listed path is a file, or a directory scanned recursively for `*.py`.

Exit codes: 0 clean; 1 hits, printed one per line as `file:line:term`; 2 the vocabulary
file is missing or malformed, or a listed path does not exist.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("tools") / "forbidden_vocabulary_phase16.yaml"
EXIT_CLEAN, EXIT_HITS, EXIT_BAD_CONFIG = 0, 1, 2


class ConfigError(Exception):
    """The vocabulary file, or a path it lists, is unusable: a setup error, not a hit."""


@dataclass(frozen=True)
class Term:
    term: str
    reason: str


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[Term, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    file: str
    line: int
    term: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.term}"


def load_vocabulary(config: Path) -> Vocabulary:
    """Read and check the YAML file; every problem becomes one ConfigError message."""
    try:
        import yaml
    except ModuleNotFoundError as exc:
        raise ConfigError("PyYAML is not installed: pip install 'pyyaml>=6,<7'") from exc
    try:
        text = config.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{config}: vocabulary file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{config}: cannot read the vocabulary file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config}: not valid YAML: {exc}") from exc
    return parse_vocabulary(data, str(config))


def parse_vocabulary(data: Any, source: str) -> Vocabulary:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with the keys 'terms' and 'paths'")
    unknown = sorted(str(key) for key in data if key not in ("terms", "paths"))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
    raw_terms = data.get("terms")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise ConfigError(f"{source}: 'terms' must be a non-empty list")
    terms = []
    for index, entry in enumerate(raw_terms):
        if not (isinstance(entry, dict) and _is_text(entry.get("term"))):
            raise ConfigError(f"{source}: terms[{index}] needs a non-empty 'term'")
        if not _is_text(entry.get("reason")):
            raise ConfigError(f"{source}: term {entry['term']!r} needs a non-empty 'reason'")
        terms.append(Term(entry["term"].strip().lower(), entry["reason"].strip()))
    raw_paths = data.get("paths")
    if not isinstance(raw_paths, list) or not raw_paths:
        raise ConfigError(f"{source}: 'paths' must be a non-empty list")
    for path in raw_paths:
        if not _is_text(path):
            raise ConfigError(f"{source}: every entry of 'paths' must be a path, got {path!r}")
        pure = PurePosixPath(path.strip())
        if pure.is_absolute() or ".." in pure.parts:
            raise ConfigError(f"{source}: path {path!r} must be relative to the repository root")
    return Vocabulary(tuple(terms), tuple(p.strip() for p in raw_paths))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def collect_files(root: Path, paths: Sequence[str]) -> list[Path]:
    """The files to scan, in a stable order; a listed path that is missing is an error,
    because a renamed module would otherwise silently leave the rule."""
    files: dict[Path, None] = {}
    for path in paths:
        target = root / path
        if target.is_dir():
            files.update(dict.fromkeys(sorted(target.rglob("*.py"))))
        elif target.is_file():
            files[target] = None
        else:
            raise ConfigError(f"listed path {path!r} does not exist under {root}")
    return list(files)


def scan_file(path: Path, shown_as: str, terms: Sequence[Term]) -> Iterator[Hit]:
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        lowered = line.lower()
        for term in terms:
            if term.term in lowered:
                yield Hit(shown_as, number, term.term)


def scan(root: Path, vocabulary: Vocabulary) -> tuple[list[Hit], int]:
    """All hits under `root`, and how many files were scanned."""
    files = collect_files(root, vocabulary.paths)
    hits = [
        hit
        for file in files
        for hit in scan_file(file, file.relative_to(root).as_posix(), vocabulary.terms)
    ]
    return hits, len(files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scan the Phase-16 paths for forbidden terms.")
    parser.add_argument("--root", type=Path, help="repository root (default: this repo)")
    parser.add_argument(
        "--config", type=Path, help=f"vocabulary file (default: <root>/{DEFAULT_CONFIG})"
    )
    args = parser.parse_args(argv)
    root = (args.root or REPO_ROOT).resolve()
    config = args.config or root / DEFAULT_CONFIG
    try:
        vocabulary = load_vocabulary(config)
        hits, file_count = scan(root, vocabulary)
    except ConfigError as exc:
        print(f"validate_phase16_path: error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    for hit in hits:
        print(hit)
    if hits:
        reasons = {term.term: term.reason for term in vocabulary.terms}
        print(f"FAIL: {len(hits)} forbidden term(s) in the Phase-16 paths.", file=sys.stderr)
        for term in sorted({hit.term for hit in hits}):
            print(f"  {term}: {reasons[term]}", file=sys.stderr)
        return EXIT_HITS
    print(
        f"OK: {file_count} file(s) in {len(vocabulary.paths)} Phase-16 path(s) are free of "
        f"the {len(vocabulary.terms)} forbidden terms"
    )
    return EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
