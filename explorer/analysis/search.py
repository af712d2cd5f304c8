"""Find tracks by text: every word of the query must appear in the title, artist, album or path (any case)."""

from __future__ import annotations

import numpy as np

from explorer.library.arrays import LibraryArrays


def search_rows(arrays: LibraryArrays, query: str) -> np.ndarray:
    """Rows whose title, artist, album or path contain every word of `query`; empty query -> no rows."""
    words = [w.casefold() for w in query.split()]
    if not words or arrays is None:
        return np.zeros(0, dtype=np.int64)
    hits = []
    for i, fields in enumerate(zip(arrays.titles, arrays.artists, arrays.albums, arrays.paths)):
        text = " ".join(f or "" for f in fields).casefold()
        if all(w in text for w in words):
            hits.append(i)
    return np.asarray(hits, dtype=np.int64)


def rows_of_paths(arrays: LibraryArrays, paths: list[str]) -> tuple[list[int], list[str]]:
    """(rows in the given order, paths the library does not hold): a playlist's tracks on the map."""
    import os

    index = {os.path.realpath(p): i for i, p in enumerate(arrays.paths)}
    rows, missing = [], []
    for p in paths:
        row = index.get(os.path.realpath(str(p)))
        if row is None:
            missing.append(str(p))
        elif row not in rows:
            rows.append(row)
    return rows, missing
