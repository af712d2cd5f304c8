"""`qfx index FOLDER`: analyse a music folder into its cache, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import add_library_arguments, cache_file, library_root

if TYPE_CHECKING:
    from core.progress import CancelToken, ProgressCallback
    from explorer.library.indexer import IndexSummary


class IndexCancelled(Exception):
    """Ctrl-C (or the cancel token) stopped the run; every finished file is in the cache."""

    def __init__(self, analysed: int, left: int) -> None:
        super().__init__(
            f"cancelled: every finished file is saved ({analysed} analysed, {left} left); run again to continue"
        )
        self.analysed, self.left = analysed, left


def index_folder(
    folder: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None,
    *,
    workers: int | None = None,
    model: str | os.PathLike[str] | None = None,
    muq: str | os.PathLike[str] | None = None,
    keep_mels: bool | None = None,
    wait: bool = False,
    ray: str | None = None,
    ray_ship_bytes: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    notice: Callable[[str], None] = lambda _: None,
) -> tuple[IndexSummary, Path]:
    """Index `folder` with the model chosen by explorer.library.model_choice (`model`/`muq` are command-line
    choices; None falls back to QFX_MODEL / QFX_MUQ_DIR, then the built-in model). `notice` hears at once what
    opening the cache had to repair; `wait`: wait for another run on the same library instead of stopping; `ray`:
    analyse on that Ray cluster ('auto' or ray://host:port), sending file contents with `ray_ship_bytes`.
    Returns the summary and the cache file; raises IndexCancelled when `cancel` fires."""
    from core.progress import Cancelled
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library
    from explorer.library.model_choice import active_model

    if workers is not None and workers < 1:
        raise CommandError("--workers must be at least 1")
    root = library_root(folder)
    if not root.exists() and not cache_file(root, cache_dir).is_file():  # an unknown path: create no empty cache
        raise CommandError(f"library folder not found: {root}")
    model_dir, muq_dir = active_model(model=model, muq=muq).loader_args()
    pipeline: Any = "auto"
    if ray:
        from explorer.library.ray_index import RayPipeline

        pipeline = RayPipeline(ray, ship_bytes=ray_ship_bytes, muq_dir=str(muq_dir) if muq_dir else None)
    with LibraryCache.open(root, cache_dir) as cache:
        for line in cache.notices:  # e.g. a damaged cache moved aside and rebuilt
            notice(line)
        cache.notices = []
        try:
            summary = index_library(
                root,
                cache,
                workers=workers,
                model=model_dir,
                muq=muq_dir,
                progress=progress,
                cancel=cancel,
                wait=None if wait else 0.0,
                keep_mels=keep_mels,
                pipeline=pipeline,
            )
        except Cancelled:
            counts = cache.counts()
            raise IndexCancelled(counts.get("done", 0), counts.get("pending", 0)) from None
        return summary, cache.db_path


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p, "the music folder (searched recursively)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="decoding processes (default: one per core; the GPU pipeline leaves a core per GPU stage thread)",
    )
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
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="analyse on a Ray cluster ('auto' or ray://host:port; needs the [ray] extra)",
    )
    p.add_argument(
        "--ray-ship-bytes",
        action="store_true",
        help="with --ray: send file contents to the workers (default: they read the same paths)",
    )
    p.add_argument(
        "--keep-mels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="store each track's full mel (~180 KB) for training; --no-keep-mels drops them (default: "
        "the library's setting, off: a few KB per track)",
    )
    p.add_argument(
        "--wait", action="store_true", help="when another run is indexing this library, wait for it instead of stopping"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.progress import CancelToken, Progress
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
            keep_mels=args.keep_mels,
            wait=args.wait,
            ray=args.ray,
            ray_ship_bytes=args.ray_ship_bytes,
            progress=on_progress,
            cancel=cancel,
            notice=lambda line: print(line, file=sys.stderr),
        )
    except IndexCancelled as stopped:
        if bar is not None:
            bar.close()
            bar = None
        print(stopped, file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    print("\n".join(index_summary_lines(summary)))
    print(f"cache: {db_path}")
    return 0


COMMAND = Command("index", "analyse a music folder (incremental: only new or changed files)", add_arguments, run)
