"""Opening the library a command works on: the one place that decides what a usable library folder is.

`qfx map`, `recommend`, `export` and `prune` read: an unindexed folder is an error and nothing is created, and the
cache is opened read-only (it works on read-only media). `qfx index` may create the cache, but only for a real
folder. A library whose folder is gone (an unmounted drive) still opens: its tracks are offline, not deleted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.errors import CommandError

if TYPE_CHECKING:
    from explorer.library.arrays import LibraryArrays
    from explorer.library.cache import LibraryCache


INDEXED_HELP = "the music folder (indexed with `qfx index FOLDER`)"


def add_library_arguments(p: argparse.ArgumentParser, folder_help: str = INDEXED_HELP) -> None:
    """FOLDER and --cache, the same for every command that works on a library."""
    p.add_argument("folder", type=Path, help=folder_help)
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)",
    )


def library_root(folder: str | os.PathLike[str]) -> Path:
    """The absolute library folder; a path to a file is refused with "not a folder"."""
    root = Path(os.path.abspath(os.fspath(folder)))
    if root.exists() and not root.is_dir():
        raise CommandError(f"not a folder: {root}")
    return root


def cache_file(folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None) -> Path:
    """Where `folder`'s cache lives (whether or not it exists)."""
    from explorer.library.cache import cache_path

    return cache_path(library_root(folder), cache_dir)


def open_indexed(
    folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None, *, writable: bool = False
) -> LibraryCache:
    """The cache of a library that `qfx index` has seen, read-only unless `writable` (commands that store
    something: recommend --save, teach). Refuses, creating nothing, a folder that does not exist or was never
    indexed."""
    from explorer.library.cache import LibraryCache

    root = library_root(folder)
    if not cache_file(root, cache_dir).is_file():
        if not root.exists():
            raise CommandError(f"library folder not found: {root}")
        raise CommandError(f"{root} is not indexed yet: run `qfx index {folder}` first")
    return LibraryCache.open(root, cache_dir, readonly=not writable)


def load_analysed(cache: LibraryCache, folder: str | os.PathLike[str]) -> LibraryArrays:
    """The analysed tracks, or a CommandError that says why there are none and what to run."""
    arrays = cache.load_arrays(muq=False)
    if len(arrays) == 0:
        counts = cache.counts()
        why = (
            "its tracks have features but no emotion-model results (no model was installed when indexing)"
            if counts.get("done")
            else "no track was analysed successfully"
        )
        raise CommandError(f"nothing analysed in {library_root(folder)}: {why}; run `qfx index {folder}`")
    return arrays
