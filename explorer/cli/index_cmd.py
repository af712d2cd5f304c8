"""`qfx index FOLDER`: analyse a music folder into its cache, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("index", help="analyse a music folder (incremental: only new or changed files)")
    p.add_argument("folder", type=Path, help="the music folder (searched recursively)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="decoding processes (default: one per core)")
    p.add_argument("--muq-dir", type=Path, default=None, metavar="DIR", help="MuQ weights folder (enables MuQ)")
    p.add_argument("--model", type=Path, default=None, metavar="DIR",
                   help="emotion model checkpoint folder (default: the shipped model)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="analyse on a Ray cluster ('auto' or ray://host:port; needs the [ray] extra)")
    p.add_argument("--ray-ship-bytes", action="store_true",
                   help="with --ray: send file contents to the workers (default: they read the same paths)")
    p.add_argument("--keep-mels", action=argparse.BooleanOptionalAction, default=None,
                   help="store each track's full mel (~180 KB) for training; --no-keep-mels drops them (default: "
                        "the library's setting, off: a few KB per track)")
    p.add_argument("--wait", action="store_true",
                   help="when another run is indexing this library, wait for it instead of stopping")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.progress import CancelToken, Cancelled, Progress
    from explorer.library.cache import LibraryCache, cache_path
    from explorer.library.indexer import IndexingError, index_library

    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    if not args.folder.is_dir() and not cache_path(args.folder, args.cache).is_file():  # create no empty cache
        raise IndexingError(f"library folder not found: {args.folder}")
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())  # Ctrl-C: stop cleanly, keep what's done
    bar = None if args.quiet else tqdm(total=0, unit="track", dynamic_ncols=True, file=sys.stderr)

    def on_progress(p: Progress) -> None:
        if bar is None:
            return
        if bar.total != p.total:
            bar.total = p.total
        bar.set_description(p.stage, refresh=False)
        bar.set_postfix_str((f"{p.failures} failed " if p.failures else "") + Path(p.current).name[-40:], refresh=False)
        bar.update(p.done - bar.n)

    cache = LibraryCache.open(args.folder, args.cache)
    for notice in cache.notices:  # e.g. a damaged cache moved aside and rebuilt
        print(notice, file=sys.stderr)
    cache.notices = []
    try:
        pipeline: Any = "auto"
        if args.ray:
            from explorer.library.ray_index import RayPipeline

            pipeline = RayPipeline(args.ray, ship_bytes=args.ray_ship_bytes,
                                   muq_dir=str(args.muq_dir) if args.muq_dir else None)
        summary = index_library(args.folder, cache, workers=args.workers, model=args.model, muq=args.muq_dir,
                                progress=on_progress, cancel=cancel, wait=None if args.wait else 0.0,
                                keep_mels=args.keep_mels, pipeline=pipeline)
    except Cancelled:
        if bar is not None:
            bar.close()
        counts = cache.counts()
        print(f"cancelled: every finished file is saved ({counts.get('done', 0)} analysed, "
              f"{counts.get('pending', 0)} left); run again to continue", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        cache.close()
    if bar is not None:
        bar.close()
    print("\n".join(summary.lines()))
    print(f"cache: {cache.db_path}")
    return 0
