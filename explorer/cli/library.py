"""Opening the library a command works on: the one place that decides what a usable library folder is.

`qfx map` and `qfx recommend` only read: an unindexed folder is an error and nothing is created. `qfx index` may
create the cache, but only for a real folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.errors import CommandError

if TYPE_CHECKING:
    from explorer.library.arrays import LibraryArrays
    from explorer.library.cache import LibraryCache


def library_root(folder: str | os.PathLike[str]) -> Path:
    """The absolute library folder; a path to a file is refused with "not a folder"."""
    root = Path(os.path.abspath(os.fspath(folder)))
    if root.exists() and not root.is_dir():
        raise CommandError(f"not a folder: {root}")
    return root


def cache_file(folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None) -> Path:
    """Where `folder`'s cache lives (whether or not it exists)."""
    from explorer.library.cache import default_cache_dir, library_db_name

    root = library_root(folder)
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / library_db_name(root)


def open_indexed(
    folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None, *, writable: bool = False
) -> LibraryCache:
    """The cache of a library that `qfx index` has seen. Refuses, creating nothing, a folder that does not exist or
    was never indexed. `writable` is for commands that store something (recommend --save)."""
    from explorer.library.cache import LibraryCache

    root = library_root(folder)
    if not cache_file(root, cache_dir).is_file():
        if not root.exists():
            raise CommandError(f"library folder not found: {root}")
        raise CommandError(f"{root} is not indexed yet: run `qfx index {folder}` first")
    del writable  # every open is read-write until the library offers a read-only one
    return LibraryCache.open(root, cache_dir)


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
