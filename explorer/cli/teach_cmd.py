"""`qfx teach FOLDER`: correct the emotion of a few tracks; the library calibrates every track from them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.emotions import QUADRANTS
from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import add_library_arguments, open_indexed


class _Step(argparse.Action):
    """Keep every teaching option in one list, in command-line order (the order corrections are applied in)."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: str | None = None):
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.const, values))
        namespace.steps = steps


HELP = "correct tracks' emotion (quadrant, more energetic, calmer); similar tracks follow"
DESCRIPTION = (
    "Teach the library a few corrections. Each one shifts the corrected track and, less, the tracks that "
    "sound like it; the map, filters, recommendations, the app and `qfx export` all use the calibrated "
    "values. --reset brings back the model's own values."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p)
    p.add_argument("--track", action=_Step, const="track", metavar="PATH", help="a track; follow it with --quadrant")
    p.add_argument(
        "--quadrant",
        action=_Step,
        const="quadrant",
        metavar="Q1..Q4",
        help="the quadrant of the preceding --track (Q1 happy/excited, Q2 angry/tense, Q3 sad, Q4 calm)",
    )
    p.add_argument(
        "--more-energetic",
        action=_Step,
        const="more_energetic",
        metavar="PATH",
        help="this track is more energetic than shown",
    )
    p.add_argument("--calmer", action=_Step, const="calmer", metavar="PATH", help="this track is calmer than shown")
    p.add_argument("--list", action="store_true", help="list the library's corrections")
    p.add_argument("--reset", action="store_true", help="forget every correction (before adding new ones)")
    p.set_defaults(steps=[])


def corrections_from_steps(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """[(path, kind), ...] from the options in order; each --quadrant belongs to the --track just before it."""
    out: list[tuple[str, str]] = []
    pending: str | None = None
    for what, value in steps:
        if what == "track":
            if pending is not None:
                raise CommandError(f"--track {pending} needs a --quadrant after it")
            pending = value
        elif what == "quadrant":
            if pending is None:
                raise CommandError(f"--quadrant {value} must follow a --track PATH")
            if str(value).strip().upper() not in QUADRANTS:
                raise CommandError(f"--quadrant must be {', '.join(QUADRANTS[:-1])} or {QUADRANTS[-1]}, not {value!r}")
            out.append((pending, str(value).strip().upper()))
            pending = None
        else:
            out.append((value, what))
    if pending is not None:
        raise CommandError(f"--track {pending} needs a --quadrant after it")
    return out


def _show(arrays: Any, row: int) -> str:
    from explorer.analysis.display import top_quadrant_text

    q = arrays.quadrant_probs[row]
    return f"{top_quadrant_text(q)}, P(Q1 or Q2) {q[0] + q[1]:.0%}"


def run(args: argparse.Namespace) -> int:
    from explorer.library.teaching import (
        add_correction,
        list_corrections,
        normalise_kind,
        quadrant_changes,
        reset_corrections,
        row_of,
    )

    corrections = corrections_from_steps(args.steps)
    if not (corrections or args.list or args.reset):
        raise CommandError(
            "nothing to do: give --track PATH --quadrant Qn, --more-energetic PATH, --calmer PATH, --list or --reset"
        )
    for _, kind in corrections:  # every kind checked before anything is stored
        normalise_kind(kind)
    folder = Path(os.path.abspath(args.folder))
    with open_indexed(folder, args.cache, writable=True) as cache:
        if args.reset:
            n = reset_corrections(cache)
            print(f"forgot {n} correction(s): the model's own values are back")
        if corrections:
            before = cache.load_arrays()
            rows = [row_of(cache, before, path) for path, _ in corrections]  # every path checked first
            for path, kind in corrections:
                add_correction(cache, path, kind)
            after = cache.load_arrays()
            for (_, kind), row in zip(corrections, rows):
                print(
                    f"{normalise_kind(kind):>14}  {Path(after.paths[row]).name}: "
                    f"{_show(before, row)} -> {_show(after, row)}"
                )
            changed = quadrant_changes(before.quadrant_probs, after.quadrant_probs)
            print(
                f"{len(changed)} of {len(after)} tracks changed quadrant"
                + (": " + ", ".join(Path(after.paths[r]).name for r in changed[:10]) if changed else "")
                + (" …" if len(changed) > 10 else "")
            )
        if args.list:
            listed = list_corrections(cache)
            arrays = cache.load_arrays()
            if not listed:
                print("no corrections: the library shows the model's own values")
            for i, c in enumerate(listed, 1):
                gone = "" if c.active else "  (track not in the library: no effect)"
                print(f"{i:>3}. {c.created:%Y-%m-%d %H:%M:%S} UTC  {c.kind:>14}  {c.path}{gone}")
            if listed:
                moved = quadrant_changes(arrays.raw_quadrant_probs, arrays.quadrant_probs)
                print(f"{len(moved)} of {len(arrays)} tracks are in another quadrant than the model says")
    return 0


COMMAND = Command("teach", HELP, add_arguments, run, DESCRIPTION)
