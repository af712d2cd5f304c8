"""The small cache: what is stored per track, and the in-place migration of caches that stored full mels.

By default a track costs a few KB: tags, the features the map, filters and recommendations read (genre multi-hot,
8 low-level and the interpretive descriptors, duration, excerpt start), the model's results (12 tag scores,
4 quadrant probabilities, the 128-d embedding) and, with MuQ, its 1024-d embedding. The 48 x T mel of the excerpt
(about 180 KB as float16 for 30 s, 95 % of the old cache) is not kept: the shipped model reads the whole
1876-frame mel (five 938-frame crops), and no precision that keeps it useful fits a 25 KB budget, so a new model
version decodes the files again. People who train keep the full mels with the library setting `keep_mels`
(`qfx index --keep-mels`).
"""

from __future__ import annotations

import os
import sqlite3

from explorer.library.cache import LibraryCache


def set_keep_mels(cache: LibraryCache, keep: bool) -> None:
    """Remember the library's mel setting; from now on features are stored with (True) or without mels."""
    with cache.transaction() as con:
        con.execute(
            "INSERT INTO meta (key, value) VALUES ('keep_mels', ?) ON CONFLICT (key) DO UPDATE SET"
            " value = excluded.value",
            ("1" if keep else "0",),
        )
    cache.keep_mels = keep


def stored_mels(cache: LibraryCache) -> int:
    return int(cache.con.execute("SELECT COUNT(*) FROM mels").fetchone()[0])


def drop_mels(cache: LibraryCache) -> str | None:
    """Migrate a cache that stored mels to the small cache, in place (likes, tracks and results untouched):
    delete the mels and VACUUM so the file shrinks. Returns a notice for the user, None when nothing to do.

    Runs inside an indexing run (it holds the library lock); VACUUM needs free disk space about the size of the
    cache after the mels are gone, and takes about as long as copying that much.
    """
    if cache.keep_mels or stored_mels(cache) == 0:
        return None
    before = _file_bytes(cache)
    with cache.transaction() as con:
        n = con.execute("DELETE FROM mels").rowcount
    try:
        cache.con.execute("VACUUM")
    except sqlite3.OperationalError:  # no room for the copy, or busy: the space is reused by later writes
        pass
    cache.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    after = _file_bytes(cache)
    return (
        f"cache made small: dropped the stored mels of {n} track(s) ({before / 1e6:.1f} MB -> "
        f"{after / 1e6:.1f} MB); likes and results are kept; a new model version decodes the files again "
        "(keep mels for training with --keep-mels)"
    )


def _file_bytes(cache: LibraryCache) -> int:
    total = 0
    for suffix in ("", "-wal"):
        path = str(cache.db_path) + suffix
        if os.path.exists(path):
            total += os.path.getsize(path)
    return total


def bytes_per_table(cache: LibraryCache, *, payload: bool = False) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat), for measuring what a track costs: whole pages, or with
    `payload=True` only the bytes of the rows stored on them (small libraries are dominated by half-empty pages)."""
    column = "payload" if payload else "pgsize"
    rows = cache.con.execute(f"SELECT name, SUM({column}) FROM dbstat GROUP BY name").fetchall()
    return {str(name): int(size) for name, size in rows}
