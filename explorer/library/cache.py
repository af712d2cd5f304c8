"""The per-library SQLite cache: tracks, stored features, model results and likes.

One DB per library, in the user cache dir (override with `--cache DIR` / `QFX_CACHE_DIR`), named by a hash of the
library's absolute root. Everything the UI shows is read from here with `load_arrays()`: one query, blobs
concatenated and decoded with one `np.frombuffer` per column.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.library.arrays import LibraryArrays
from explorer.library.cache_writes import (  # noqa: F401  (f32 re-exported for callers)
    CacheWrites,
    PathLike,
    f32,
    path_key,
)
from explorer.library.opening import (  # noqa: F401  (errors re-exported for callers)
    CacheDamaged,
    CacheError,
    LibraryNotIndexed,
    open_readonly,
    open_readwrite,
)
from explorer.library.snapshot import (
    apply_likes,
    generation,
    load_muq,
    load_musicnn,
    query_arrays,
    read_snapshot,
    write_snapshot,
)

APP_NAME = "quadfusion-explorer"


def default_cache_dir() -> Path:
    """`QFX_CACHE_DIR` when set, else the platform's user cache dir for the app."""
    override = os.environ.get("QFX_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))


def library_db_name(library_root: PathLike) -> str:
    root = os.fsencode(os.path.abspath(os.fspath(library_root)))
    return f"library-{hashlib.blake2b(root, digest_size=8).hexdigest()}.sqlite"


@dataclass
class KnownTrack:
    id: int
    path: bytes
    size: int
    mtime_ns: int
    fingerprint: bytes
    status: str
    extractor_version: str | None
    model_version: str | None
    has_mel: bool = False
    has_muq: bool = False
    error_kind: str | None = None
    offline: bool = False


class LibraryCache(CacheWrites):
    """A handle on one library's cache DB. Not for concurrent use from several threads at once."""

    def __init__(self, db_path: Path, library_root: Path, con: sqlite3.Connection) -> None:
        self.db_path = db_path
        self.library_root = library_root
        self.con = con
        self.readonly = False
        self.restored_likes = 0  # likes brought back by fingerprint through this handle
        self.keep_mels = _meta_flag(con, "keep_mels")  # library setting: store full mels (for training)
        self.notices: list[str] = []  # what opening had to repair, for the user (see explorer.library.opening)

    # ---- opening -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, library_root: PathLike, cache_dir: PathLike | None = None, *, readonly: bool = False) -> LibraryCache:
        """The library's cache. `readonly=True` (for commands that only read) never creates or changes a file and
        raises `LibraryNotIndexed` when there is no cache; a read-write open repairs a damaged cache (moved aside,
        likes carried over; see `notices`)."""
        root = Path(os.path.abspath(os.fsdecode(os.fspath(library_root))))
        db_path = cache_path(root, cache_dir)
        folder = db_path.parent
        if readonly:
            cache = cls(db_path, root, open_readonly(db_path, root))
            cache.readonly = True
            return cache
        folder.mkdir(parents=True, exist_ok=True)
        con, notices = open_readwrite(db_path)
        cache = cls(db_path, root, con)
        cache.notices = notices
        with cache.transaction():
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('library_root', ?)", (os.fsdecode(root),))
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (str(time.time()),))
        return cache

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.con.close()

    def __enter__(self) -> LibraryCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing writes: a kill between BEGIN and COMMIT leaves the previous state."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # ---- reading -------------------------------------------------------------------------------------------
    def known_tracks(self) -> dict[bytes, KnownTrack]:
        rows = self.con.execute(
            "SELECT t.id, t.path, t.size, t.mtime_ns, t.fingerprint, t.status, f.extractor_version, a.model_version,"
            " EXISTS (SELECT 1 FROM mels m WHERE m.track_id = t.id),"
            " EXISTS (SELECT 1 FROM muq q WHERE q.track_id = t.id),"
            " t.error_kind, t.offline_since IS NOT NULL"
            " FROM tracks t LEFT JOIN features f ON f.track_id = t.id LEFT JOIN analysis a ON a.track_id = t.id"
        ).fetchall()
        return {
            bytes(r[1]): KnownTrack(
                r[0], bytes(r[1]), r[2], r[3], bytes(r[4]), r[5], r[6], r[7], bool(r[8]), bool(r[9]), r[10], bool(r[11])
            )
            for r in rows
        }

    def counts(self) -> dict[str, int]:
        """Tracks per status, plus how many have model results."""
        out = {s: n for s, n in self.con.execute("SELECT status, COUNT(*) FROM tracks GROUP BY status")}
        out["analysed"] = self.con.execute("SELECT COUNT(*) FROM analysis").fetchone()[0]
        out["offline"] = self.con.execute("SELECT COUNT(*) FROM tracks WHERE offline_since IS NOT NULL").fetchone()[0]
        return out

    def failures(self) -> list[tuple[str, str]]:
        rows = self.con.execute("SELECT path, error FROM tracks WHERE status = 'failed' ORDER BY path").fetchall()
        return [(os.fsdecode(bytes(p)), e or "") for p, e in rows]

    def offline_tracks(self) -> list[tuple[str, str, float]]:
        """(path, why, since) of the tracks kept while their folder is absent, empty or unreadable."""
        rows = self.con.execute(
            "SELECT path, offline_reason, offline_since FROM tracks WHERE offline_since IS NOT NULL ORDER BY path"
        ).fetchall()
        return [(os.fsdecode(bytes(p)), r or "", float(t)) for p, r, t in rows]

    def track(self, track_id: int) -> dict[str, Any] | None:
        """Everything stored about one track (tags, status, versions), or None."""
        row = self.con.execute(
            "SELECT t.id, t.path, t.size, t.mtime_ns, t.title, t.artist, t.album, t.genre, t.genres, t.year,"
            " t.tag_duration, t.status, t.error, f.extractor_version, f.duration, f.excerpt_start, a.model_version,"
            " l.value, t.error_kind, t.offline_since, t.offline_reason"
            " FROM tracks t LEFT JOIN features f ON f.track_id = t.id LEFT JOIN analysis a ON"
            " a.track_id = t.id LEFT JOIN likes l ON l.track_id = t.id WHERE t.id = ?",
            (int(track_id),),
        ).fetchone()
        if row is None:
            return None
        keys = (
            "id",
            "path",
            "size",
            "mtime_ns",
            "title",
            "artist",
            "album",
            "genre",
            "genres",
            "year",
            "tag_duration",
            "status",
            "error",
            "extractor_version",
            "duration",
            "excerpt_start",
            "model_version",
            "liked",
            "error_kind",
            "offline_since",
            "offline_reason",
        )
        out = dict(zip(keys, row))
        out["path"] = os.fsdecode(bytes(out["path"]))
        out["genres"] = json.loads(out["genres"]) if out["genres"] else []
        out["liked"] = int(out["liked"] or 0)
        return out

    def track_id(self, path: PathLike) -> int | None:
        row = self.con.execute("SELECT id FROM tracks WHERE path = ?", (path_key(path),)).fetchone()
        return None if row is None else int(row[0])

    def stored_inputs(self, track_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Model inputs kept from an earlier run (core.features.track.MODEL_INPUT_FIELDS, plus track_id) so a new
        model skips decoding."""
        out = []
        for tid in track_ids:
            row = self.con.execute(
                "SELECT f.genre, f.lowlevel, f.interpretive, m.n_mels, m.frames, m.data, q.data, c.data FROM features f"
                " JOIN mels m ON m.track_id = f.track_id LEFT JOIN muq q ON q.track_id = f.track_id"
                " LEFT JOIN musicnn c ON c.track_id = f.track_id WHERE f.track_id = ?",
                (int(tid),),
            ).fetchone()
            if row is None:
                continue
            genre, lowlevel, interpretive, n_mels, frames, mel, muq, musicnn = row
            out.append(
                {
                    "track_id": int(tid),
                    "genre": np.frombuffer(genre, "<f4").copy(),
                    "lowlevel": np.frombuffer(lowlevel, "<f4").copy(),
                    "interpretive": np.frombuffer(interpretive, "<f4").copy(),
                    "mel": np.frombuffer(mel, "<f2").reshape(n_mels, frames).astype(np.float32),
                    "muq": None if muq is None else np.frombuffer(muq, "<f4").copy(),
                    "musicnn": None if musicnn is None else np.frombuffer(musicnn, "<f4").copy(),
                }
            )
        return out

    def load_arrays(self, *, muq: bool = False, musicnn: bool = False) -> LibraryArrays:
        """The analysed tracks as arrays (row order = track id); `muq=True` adds the 4 KiB/track MuQ column,
        `musicnn=True` the 1 KiB/track MusiCNN one.

        Served from the column snapshot when nothing changed since it was built (milliseconds for 100k tracks),
        else rebuilt from the tables first.

        Quadrant probabilities and tag scores are calibrated by the library's teaching corrections
        (explorer/library/teaching.py); the model's own values are in `raw_quadrant_probs` / `raw_tag_scores`.
        """
        from explorer.library.teaching import apply_teaching

        names = _names()
        arrays = read_snapshot(self.con, names)
        if arrays is None:
            arrays = self.refresh_snapshot(names)
        apply_teaching(self.con, arrays)
        apply_likes(self.con, arrays)
        if muq:
            load_muq(self.con, arrays)
        if musicnn:
            load_musicnn(self.con, arrays)
        return arrays

    def refresh_snapshot(self, names: dict[str, list[str]] | None = None) -> LibraryArrays:
        """Rebuild the load_arrays snapshot from the tables (the indexer calls this at the end of a run)."""
        names = names or _names()
        if self.readonly:  # read-only use never writes, not even the snapshot
            return query_arrays(self.con, names)
        try:
            with self.transaction():  # the snapshot and its generation stamp come from one consistent state
                arrays = query_arrays(self.con, names)
                write_snapshot(self.con, arrays, generation(self.con))
            self.con.execute("PRAGMA wal_checkpoint(PASSIVE)")  # blobs read from the DB file are mmapped
        except sqlite3.OperationalError:  # read-only or busy DB: serve the arrays without storing them
            arrays = query_arrays(self.con, names)
        return arrays

    # ---- likes ---------------------------------------------------------------------------------------------
    def set_like(self, track_id: int, value: int) -> None:
        """+1 like, -1 dislike, 0 clears. Survives re-indexing and moves (likes follow the track id)."""
        if value not in (-1, 0, 1):
            raise ValueError(f"like value must be -1, 0 or 1, not {value!r}")
        with self.transaction() as con:
            if value == 0:
                con.execute("DELETE FROM likes WHERE track_id = ?", (int(track_id),))
            else:
                con.execute(
                    "INSERT INTO likes (track_id, value, time) VALUES (?, ?, ?) ON CONFLICT (track_id)"
                    " DO UPDATE SET value = excluded.value, time = excluded.time",
                    (int(track_id), int(value), time.time()),
                )

    def likes(self) -> dict[int, int]:
        return {int(t): int(v) for t, v in self.con.execute("SELECT track_id, value FROM likes")}


def cache_path(library_root: PathLike, cache_dir: PathLike | None = None) -> Path:
    """Where the library's cache DB lives (whether or not it exists)."""
    root = Path(os.path.abspath(os.fsdecode(os.fspath(library_root))))
    folder = Path(os.fsdecode(os.fspath(cache_dir))) if cache_dir is not None else default_cache_dir()
    return folder / library_db_name(root)


def open_indexed(library_root: PathLike, cache_dir: PathLike | None = None) -> LibraryCache:
    """The cache of an indexed library, opened read-only: what commands and views that only read call.

    Creates nothing. Raises `LibraryNotIndexed` (a `CacheError`) with a message that says what to run when the
    folder does not exist or was never indexed, `CacheDamaged` when the cache cannot be read.
    """
    root = Path(os.path.abspath(os.fsdecode(os.fspath(library_root))))
    if not root.is_dir() and not cache_path(root, cache_dir).is_file():
        raise LibraryNotIndexed(f"library folder not found: {root}")
    return LibraryCache.open(root, cache_dir, readonly=True)


def _meta_flag(con: sqlite3.Connection, key: str) -> bool:
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == "1"


def _names() -> dict[str, list[str]]:
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.interpretive import DESCRIPTOR_NAMES

    return {"genre_names": list(GENRES), "tag_names": list(TAGS), "descriptor_names": list(DESCRIPTOR_NAMES)}
