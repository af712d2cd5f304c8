"""`qfx prune FOLDER`: forget the offline tracks of a library (the only way they are ever removed).

Tracks whose folder was absent, empty or unreadable during indexing are kept as offline; this lists them and,
unless --dry-run, removes them. Their likes are kept by content fingerprint and come back if the files return.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("prune", help="remove the offline tracks of an indexed library (list with --dry-run)")
    p.add_argument("folder", type=Path, help="the indexed music folder")
    p.add_argument("--under", type=Path, default=None, metavar="DIR",
                   help="only the offline tracks under this folder (default: all of the library's)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from explorer.library.cache import LibraryCache, cache_path, open_indexed
    from explorer.library.lock import library_lock
    from explorer.library.offline import offline_folders, prune_offline

    with open_indexed(args.folder, args.cache) as cache:  # refuses, creating nothing, when never indexed
        offline = cache.offline_tracks()
    if args.under is not None:
        prefix = str(args.under.absolute()).rstrip("/") + "/"
        offline = [t for t in offline if t[0].startswith(prefix)]
    if not offline:
        print("no offline tracks")
        return 0
    print(f"{len(offline)} offline track(s):")
    for line in offline_folders([(p, why) for p, why, _ in offline], limit=50):
        print(f"  {line}")
    if args.dry_run:
        print("dry run: nothing removed")
        return 0
    with library_lock(cache_path(args.folder, args.cache), what="pruning"), \
            LibraryCache.open(args.folder, args.cache) as cache:
        removed = prune_offline(cache, args.under)
        cache.load_arrays()
    print(f"removed {removed} offline track(s); their likes are kept and return if the files come back")
    return 0
