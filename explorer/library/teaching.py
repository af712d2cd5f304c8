"""Teach a library: store a person's corrections ("this track is Q2", "more energetic", "calmer") in its cache and
apply the calibration they imply (core/calibration.py) whenever the cache hands out arrays.

The corrections live in their own table, created on the first correction (`CREATE TABLE IF NOT EXISTS`), so a cache
that was never taught, or one opened read-only, is untouched. Each correction keeps the track's id, content
fingerprint and path: it follows the track through moves (same id); a trigger copies a removed track's last path
and fingerprint into its corrections, which find it again by fingerprint when it comes back.

`LibraryCache.load_arrays()` calls `apply_teaching`, so the map, filters, recommendations, the app and `qfx` all see
the same calibrated numbers; the model's own values stay in `raw_quadrant_probs` /
`raw_tag_scores`. Nothing is precomputed: the fit is redone from the stored corrections on every load (a few
milliseconds), so re-indexing with a new model re-applies the same corrections to the new model's values.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.calibration import KINDS, calibrate, tag_quadrant_affinity, teaching_space
from explorer.library.arrays import LibraryArrays
from explorer.library.errors import LibraryError

if TYPE_CHECKING:
    from explorer.library.cache import LibraryCache

TEACH_KINDS: tuple[str, ...] = KINDS  # ("Q1", "Q2", "Q3", "Q4", "more_energetic", "calmer")
TABLE = "teach_corrections"
_DDL = (
    f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY,
    track_id INTEGER REFERENCES tracks (id) ON DELETE SET NULL,  -- NULL once the track was removed
    fingerprint BLOB NOT NULL,          -- finds the track again when it is removed and comes back
    path BLOB NOT NULL,                 -- os.fsencode(absolute path): where the track was last seen
    kind TEXT NOT NULL,                 -- one of TEACH_KINDS
    created_at REAL NOT NULL            -- seconds since the epoch; corrections are replayed in this order
)""",
    # a removed track's last path and content stay with its corrections (to show, and to match on return)
    f"""
CREATE TRIGGER IF NOT EXISTS {TABLE}_keep_track BEFORE DELETE ON tracks BEGIN
    UPDATE {TABLE} SET path = OLD.path, fingerprint = OLD.fingerprint WHERE track_id = OLD.id;
END""",
)
# the correction's track: by id, else a current track with the same content
_TRACK_OF = (
    "COALESCE(c.track_id, (SELECT t.id FROM tracks t WHERE t.fingerprint = c.fingerprint ORDER BY t.id LIMIT 1))"
)


class TeachingError(LibraryError, ValueError):
    """A correction that cannot be stored: unknown kind, or a path that is not an analysed track of the library."""


@dataclass(frozen=True)
class Correction:
    path: str  # the track's current path (or where it was, when it is no longer in the library)
    kind: str  # one of TEACH_KINDS
    created_at: float  # seconds since the epoch
    id: int = 0  # row id in the cache, for remove_correction
    track_id: int | None = None  # None when the track is gone (the correction then has no effect)

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, tz=UTC)

    @property
    def active(self) -> bool:
        return self.track_id is not None


def normalise_kind(kind: str) -> str:
    """'q2' -> 'Q2', 'more-energetic' -> 'more_energetic'; TeachingError for anything not in TEACH_KINDS."""
    text = str(kind).strip().replace("-", "_")
    text = text.upper() if text.upper() in TEACH_KINDS else text.lower()
    if text not in TEACH_KINDS:
        raise TeachingError(f"unknown correction {kind!r}; expected one of {', '.join(TEACH_KINDS)}")
    return text


def _has_table(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone() is not None


def _find_track(cache: LibraryCache, path: str | Path) -> tuple[int, bytes, bytes]:
    """(id, fingerprint, path key) of an analysed track, trying the path as given, under the library, then resolved."""
    given = Path(os.fsdecode(os.fspath(path)))
    candidates = [
        given,
        cache.library_root / given,
        Path(os.path.realpath(given)),
        Path(os.path.realpath(cache.library_root / given)),
    ]
    for candidate in candidates:
        key = os.fsencode(os.path.abspath(candidate))
        row = cache.con.execute(
            "SELECT t.id, t.fingerprint, t.path, t.status = 'done' AND EXISTS (SELECT 1 FROM analysis a"
            " WHERE a.track_id = t.id) FROM tracks t WHERE t.path = ?",
            (key,),
        ).fetchone()
        if row is None:
            continue
        if not row[3]:
            raise TeachingError(f"track not analysed yet (run `qfx index {cache.library_root}`): {given}")
        return int(row[0]), bytes(row[1]), bytes(row[2])
    raise TeachingError(f"track not in the library {cache.library_root}: {given}")


def add_correction(cache: LibraryCache, path: str | Path, kind: str) -> None:
    """Remember that the track at `path` is `kind` (Q1..Q4, more_energetic, calmer); applied from the next load."""
    name = normalise_kind(kind)
    track_id, fingerprint, key = _find_track(cache, path)
    with cache.transaction() as con:
        for statement in _DDL:
            con.execute(statement)
        con.execute(
            f"INSERT INTO {TABLE} (track_id, fingerprint, path, kind, created_at) VALUES (?, ?, ?, ?, ?)",
            (track_id, fingerprint, key, name, time.time()),
        )


def list_corrections(cache: LibraryCache) -> list[Correction]:
    """Every stored correction, oldest first (the order they are applied in)."""
    if not _has_table(cache.con):
        return []
    rows = cache.con.execute(
        f"SELECT c.id, {_TRACK_OF} AS tid, c.path, c.kind, c.created_at FROM {TABLE} c ORDER BY c.created_at, c.id"
    ).fetchall()
    paths = dict(
        cache.con.execute(
            f"SELECT t.id, t.path FROM tracks t WHERE t.id IN (SELECT {_TRACK_OF} FROM {TABLE} c)"
        ).fetchall()
    )
    return [
        Correction(
            path=os.fsdecode(bytes(paths.get(tid, old))),
            kind=kind,
            created_at=float(created),
            id=int(cid),
            track_id=None if tid is None else int(tid),
        )
        for cid, tid, old, kind, created in rows
    ]


def remove_correction(cache: LibraryCache, correction_id: int) -> bool:
    """Forget one correction (undo); False when there was no such correction."""
    if not _has_table(cache.con):
        return False
    with cache.transaction() as con:
        return con.execute(f"DELETE FROM {TABLE} WHERE id = ?", (int(correction_id),)).rowcount > 0


def reset_corrections(cache: LibraryCache) -> int:
    """Forget every correction of the library; returns how many there were. The model's values come back."""
    if not _has_table(cache.con):
        return 0
    with cache.transaction() as con:
        return int(con.execute(f"DELETE FROM {TABLE}").rowcount)


def _active_corrections(con: sqlite3.Connection, arrays: LibraryArrays) -> list[tuple[int, str]]:
    """(row in arrays, kind) of every correction whose track is among the analysed tracks, oldest first."""
    if not len(arrays) or not _has_table(con):
        return []
    rows = con.execute(f"SELECT {_TRACK_OF}, c.kind FROM {TABLE} c ORDER BY c.created_at, c.id").fetchall()
    out = []
    for tid, kind in rows:
        if tid is None or kind not in TEACH_KINDS:
            continue
        pos = int(np.searchsorted(arrays.track_ids, tid))  # track_ids are sorted (ORDER BY id)
        if pos < len(arrays) and int(arrays.track_ids[pos]) == int(tid):
            out.append((pos, kind))
    return out


def apply_teaching(con: sqlite3.Connection, arrays: LibraryArrays) -> None:
    """Replace `arrays`' quadrant probabilities and tag scores with the calibrated ones; keep the raw ones.

    With no correction nothing is computed and raw_* are the very same arrays (treat them as read-only).
    """
    arrays.raw_quadrant_probs = arrays.quadrant_probs
    arrays.raw_tag_scores = arrays.tag_scores
    corrections = _active_corrections(con, arrays)
    arrays.corrections_applied = len(corrections)
    if not corrections:
        return
    result = calibrate(
        teaching_space(arrays.descriptors),
        arrays.quadrant_probs,
        arrays.tag_scores,
        corrections,
        tag_quadrant_affinity(arrays.tag_names),
    )
    arrays.quadrant_probs = result.quadrant_probs
    arrays.tag_scores = result.tag_scores


def row_of(cache: LibraryCache, arrays: LibraryArrays, path: str | Path) -> int:
    """The row of an analysed track in `arrays` (TeachingError when it is not one)."""
    track_id, _, _ = _find_track(cache, path)
    pos = int(np.searchsorted(arrays.track_ids, track_id))
    if pos >= len(arrays) or int(arrays.track_ids[pos]) != track_id:
        raise TeachingError(f"track not among the analysed tracks: {path}")
    return pos


def quadrant_changes(before: np.ndarray, after: np.ndarray) -> list[int]:
    """Rows whose most likely quadrant differs between two (N, 4) probability tables."""
    return [int(r) for r in np.flatnonzero(np.argmax(before, axis=1) != np.argmax(after, axis=1))]
