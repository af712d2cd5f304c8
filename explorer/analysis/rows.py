"""Rows of one LibraryArrays snapshot <-> rows of another, through the track ids both carry.

The map is drawn from one snapshot while indexing may already have loaded a newer one (rows follow the sorted
track ids of analysed tracks, so they shift while a library is indexed). Every click on the drawn map is a row of
the drawn snapshot; everything that plays or stores uses the newest one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer.library.arrays import LibraryArrays


def translate_rows(
    rows: Sequence[int] | np.ndarray, source: LibraryArrays | None, target: LibraryArrays | None
) -> np.ndarray:
    """Rows of `source` -> rows of `target` for the same tracks; tracks `target` no longer has are dropped."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if source is None or target is None or source is target:
        return rows
    if not len(target) or not len(rows):
        return np.zeros(0, dtype=np.int64)
    ids = source.track_ids[rows]
    pos = np.clip(np.searchsorted(target.track_ids, ids), 0, len(target) - 1)  # track ids are sorted
    return pos[target.track_ids[pos] == ids]


def translate_row(row: int | None, source: LibraryArrays | None, target: LibraryArrays | None) -> int | None:
    """One row of `source` -> its row in `target`, or None when `target` lacks the track."""
    if row is None:
        return None
    hit = translate_rows([row], source, target)
    return int(hit[0]) if len(hit) else None


def row_of_track(arrays: LibraryArrays | None, track_id: int) -> int | None:
    """The row holding `track_id`, or None."""
    if arrays is None or not len(arrays):
        return None
    pos = int(np.clip(np.searchsorted(arrays.track_ids, track_id), 0, len(arrays) - 1))
    return pos if int(arrays.track_ids[pos]) == int(track_id) else None
