"""`qfx export FOLDER --json OUT --csv OUT`: every analysed track's genres, quadrants and ranked tags, as the app
shows them (after teaching)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import add_library_arguments, load_analysed, open_indexed


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p)
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write a JSON file")
    p.add_argument("--csv", type=Path, default=None, metavar="OUT", help="write a CSV file (one row per track)")


def run(args: argparse.Namespace) -> int:
    from explorer.library.export import export_library

    if args.json is None and args.csv is None:
        raise CommandError("give --json OUT and/or --csv OUT")
    for out in (args.json, args.csv):
        if out is not None and not Path(os.path.abspath(out)).parent.is_dir():
            raise CommandError(f"folder for {out} does not exist: {Path(os.path.abspath(out)).parent}")
    folder = Path(os.path.abspath(args.folder))
    with open_indexed(folder, args.cache) as cache:
        arrays = load_analysed(cache, args.folder)
    for path in export_library(arrays, folder, json_path=args.json, csv_path=args.csv):
        print(f"wrote {len(arrays)} tracks to {path}")
    if arrays.corrections_applied:
        print(f"values are calibrated by {arrays.corrections_applied} correction(s) (`qfx teach {args.folder} --list`)")
    return 0


COMMAND = Command("export", "write an indexed folder's per-track emotions and genres as JSON/CSV", add_arguments, run)
