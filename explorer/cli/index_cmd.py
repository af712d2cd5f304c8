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
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.progress import CancelToken, Cancelled, Progress
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library

    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
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
    try:
        pipeline: Any = "auto"
        if args.ray:
            from explorer.library.ray_index import RayPipeline

            pipeline = RayPipeline(args.ray, ship_bytes=args.ray_ship_bytes,
                                   muq_dir=str(args.muq_dir) if args.muq_dir else None)
        summary = index_library(args.folder, cache, workers=args.workers, model=args.model, muq=args.muq_dir,
                                progress=on_progress, cancel=cancel, pipeline=pipeline)
    except Cancelled:
        if bar is not None:
            bar.close()
        print("cancelled: finished files are saved; run again to continue", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        cache.close()
    if bar is not None:
        bar.close()
    print("\n".join(summary.lines()))
    print(f"cache: {cache.db_path}")
    return 0
