"""`qfx index FOLDER`: analyse a music folder into its cache, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import cache_file, library_root

if TYPE_CHECKING:
    from core.progress import CancelToken, ProgressCallback
    from explorer.library.indexer import IndexSummary


def index_folder(
    folder: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None,
    *,
    workers: int | None = None,
    model: str | os.PathLike[str] | None = None,
    muq: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[IndexSummary, Path]:
    """Index `folder` with the model chosen by explorer.library.model_choice (`model`/`muq` are command-line
    choices; None falls back to QFX_MODEL / QFX_MUQ_DIR, then the built-in model). Returns the summary and the
    cache file. Raises Cancelled when `cancel` fires; finished files are kept."""
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library
    from explorer.library.model_choice import active_model

    if workers is not None and workers < 1:
        raise CommandError("--workers must be at least 1")
    root = library_root(folder)
    if not root.exists() and not cache_file(root, cache_dir).is_file():  # an unknown path: create no empty cache
        raise CommandError(f"library folder not found: {root}")
    model_dir, muq_dir = active_model(model=model, muq=muq).loader_args()
    with LibraryCache.open(root, cache_dir) as cache:
        summary = index_library(
            root, cache, workers=workers, model=model_dir, muq=muq_dir, progress=progress, cancel=cancel
        )
        return summary, cache.db_path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="the music folder (searched recursively)")
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)",
    )
    p.add_argument("--workers", type=int, default=None, metavar="N", help="decoding processes (default: one per core)")
    p.add_argument(
        "--muq-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="MuQ weights folder (enables MuQ; default: $QFX_MUQ_DIR when the model uses MuQ)",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="emotion model checkpoint folder (default: $QFX_MODEL, else the shipped model)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.progress import Cancelled, CancelToken, Progress
    from explorer.analysis.display import index_summary_lines

    cancel = CancelToken()
    bar = None

    def on_progress(p: Progress) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:  # opened on the first report, so a refused folder prints no empty bar
            bar = tqdm(total=p.total, unit="track", dynamic_ncols=True, file=sys.stderr)
        if bar.total != p.total:
            bar.total = p.total
        bar.set_description(p.stage, refresh=False)
        bar.set_postfix_str((f"{p.failures} failed " if p.failures else "") + Path(p.current).name[-40:], refresh=False)
        bar.update(p.done - bar.n)

    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())  # Ctrl-C: stop cleanly, keep what's done
    try:
        summary, db_path = index_folder(
            args.folder,
            args.cache,
            workers=args.workers,
            model=args.model,
            muq=args.muq_dir,
            progress=on_progress,
            cancel=cancel,
        )
    except Cancelled:
        print("cancelled: finished files are saved; run again to continue", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    print("\n".join(index_summary_lines(summary)))
    print(f"cache: {db_path}")
    return 0


COMMAND = Command("index", "analyse a music folder (incremental: only new or changed files)", add_arguments, run)
