"""`qfx export FOLDER --json OUT --csv OUT`: every analysed track's genres, quadrants and ranked tags, as the app
shows them (after teaching)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


class ExportError(Exception):
    """A user-facing problem: no output asked for, nothing analysed."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("export", help="write an indexed folder's per-track emotions and genres as JSON/CSV")
    p.add_argument("folder", type=Path, help="the music folder (indexed with `qfx index FOLDER`)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write a JSON file")
    p.add_argument("--csv", type=Path, default=None, metavar="OUT", help="write a CSV file (one row per track)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from explorer.cli.recommend_cmd import open_indexed
    from explorer.library.export import export_library

    if args.json is None and args.csv is None:
        raise ExportError("give --json OUT and/or --csv OUT")
    folder = Path(os.path.abspath(args.folder))
    with open_indexed(folder, args.cache) as cache:
        arrays = cache.load_arrays()
    if len(arrays) == 0:
        raise ExportError(f"no analysed tracks in {folder}: run `qfx index {args.folder}`")
    for path in export_library(arrays, folder, json_path=args.json, csv_path=args.csv):
        print(f"wrote {len(arrays)} tracks to {path}")
    if arrays.corrections_applied:
        print(f"values are calibrated by {arrays.corrections_applied} correction(s) (`qfx teach {args.folder} --list`)")
    return 0
