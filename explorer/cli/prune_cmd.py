"""`qfx prune FOLDER`: forget the offline tracks of a library (the only way they are ever removed).

Tracks whose folder was absent, empty or unreadable during indexing are kept as offline; this lists them and,
unless --dry-run, removes them. Their likes are kept by content fingerprint and come back if the files return.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from explorer.cli.command import Command
from explorer.cli.library import add_library_arguments, cache_file, open_indexed


def offline_under(
    folder: str | os.PathLike[str], cache_dir: Path | None, under: Path | None
) -> list[tuple[str, str, float]]:
    """(path, why, since) of the library's offline tracks, only those under `under` when given."""
    with open_indexed(folder, cache_dir) as cache:  # read-only; refuses, creating nothing, when never indexed
        offline = cache.offline_tracks()
    if under is not None:
        prefix = str(under.absolute()).rstrip("/") + "/"
        offline = [t for t in offline if t[0].startswith(prefix)]
    return offline


def prune(folder: str | os.PathLike[str], cache_dir: Path | None, under: Path | None) -> int:
    """Remove the offline tracks (under `under`), holding the library lock; returns how many went."""
    from explorer.library.lock import library_lock
    from explorer.library.offline import prune_offline

    with (
        library_lock(cache_file(folder, cache_dir), what="pruning"),
        open_indexed(folder, cache_dir, writable=True) as cache,
    ):
        removed = prune_offline(cache, under)
        cache.load_arrays()  # the snapshot without them
    return removed


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p, "the indexed music folder")
    p.add_argument(
        "--under",
        type=Path,
        default=None,
        metavar="DIR",
        help="only the offline tracks under this folder (default: all of the library's)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")


def run(args: argparse.Namespace) -> int:
    from explorer.library.offline import offline_folders

    offline = offline_under(args.folder, args.cache, args.under)
    if not offline:
        print("no offline tracks")
        return 0
    print(f"{len(offline)} offline track(s):")
    for line in offline_folders([(p, why) for p, why, _ in offline], limit=50):
        print(f"  {line}")
    if args.dry_run:
        print("dry run: nothing removed")
        return 0
    removed = prune(args.folder, args.cache, args.under)
    print(f"removed {removed} offline track(s); their likes are kept and return if the files come back")
    return 0


COMMAND = Command("prune", "remove the offline tracks of an indexed library (list with --dry-run)", add_arguments, run)
