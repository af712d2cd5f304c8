"""The indexer's writes to a library cache: tracks added, moved, changed or removed, features, model results,
failures, and likes carried over by content fingerprint.

Split out of explorer.library.cache (which keeps opening, reading and likes) so that each module has one job and
stays small. `LibraryCache` inherits `CacheWrites`, so callers use these methods on the cache as before; they run
inside `LibraryCache.transaction()`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

PathLike = str | bytes | os.PathLike


def f32(a: Any) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


class CacheWrites:
    """The writing half of `LibraryCache` (used by the indexer, inside `transaction()`)."""

    con: sqlite3.Connection
    keep_mels: bool  # library setting: store full mels (for training)
    restored_likes: int  # likes brought back by fingerprint through this handle

    def add_track(self, path: PathLike, size: int, mtime_ns: int, fingerprint: bytes, tags: dict[str, Any]) -> int:
        now = time.time()
        cur = self.con.execute(
            "INSERT INTO tracks (path, size, mtime_ns, fingerprint, title, artist, album, genre, genres, year,"
            " tag_duration, status, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,'pending',?,?)",
            (path_key(path), size, mtime_ns, fingerprint, *_tag_values(tags), now, now),
        )
        tid = int(cur.lastrowid)
        self.restore_like(tid, fingerprint)
        return tid

    def restore_like(self, track_id: int, fingerprint: bytes) -> bool:
        """A like kept from a removed track with this content comes back on the new track (True when one did)."""
        row = self.con.execute("SELECT value, time FROM kept_likes WHERE fingerprint = ?", (fingerprint,)).fetchone()
        if row is None:
            return False
        self.con.execute("INSERT OR REPLACE INTO likes (track_id, value, time) VALUES (?,?,?)", (track_id, *row))
        self.con.execute("DELETE FROM kept_likes WHERE fingerprint = ?", (fingerprint,))
        self.restored_likes += 1
        return True

    def reset_track(self, track_id: int, size: int, mtime_ns: int, fingerprint: bytes, tags: dict[str, Any]) -> None:
        """Content changed: forget old results, keep the id (so likes stay), and queue it."""
        self.con.execute(
            "UPDATE tracks SET size=?, mtime_ns=?, fingerprint=?, title=?, artist=?, album=?, genre=?, genres=?,"
            " year=?, tag_duration=?, status='pending', error=NULL, error_kind=NULL, updated_at=? WHERE id=?",
            (size, mtime_ns, fingerprint, *_tag_values(tags), time.time(), int(track_id)),
        )
        for table in ("features", "mels", "muq", "musicnn", "analysis"):
            self.con.execute(f"DELETE FROM {table} WHERE track_id = ?", (int(track_id),))

    def update_tags(self, track_id: int, tags: dict[str, Any]) -> None:
        self.con.execute(
            "UPDATE tracks SET title=?, artist=?, album=?, genre=?, genres=?, year=?, tag_duration=? WHERE id=?",
            (*_tag_values(tags), int(track_id)),
        )

    def move_track(self, track_id: int, new_path: PathLike, size: int, mtime_ns: int) -> None:
        self.con.execute(
            "UPDATE tracks SET path=?, size=?, mtime_ns=?, updated_at=? WHERE id=?",
            (path_key(new_path), size, mtime_ns, time.time(), int(track_id)),
        )

    def touch_track(self, track_id: int, size: int, mtime_ns: int) -> None:
        """Same content, new mtime (e.g. copied back): remember the stat so the next run skips hashing."""
        self.con.execute("UPDATE tracks SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, int(track_id)))

    def remove_tracks(self, track_ids: Iterable[int]) -> None:
        self.con.executemany("DELETE FROM tracks WHERE id = ?", [(int(t),) for t in track_ids])

    def record_failure(self, track_id: int, reason: str, kind: str = "transient") -> None:
        """A file that could not be analysed; `kind` (explorer.library.failures) decides when it is retried."""
        self.con.execute(
            "UPDATE tracks SET status='failed', error=?, error_kind=?, updated_at=? WHERE id=?",
            (reason, kind, time.time(), int(track_id)),
        )
        for table in ("features", "mels", "muq", "musicnn", "analysis"):
            self.con.execute(f"DELETE FROM {table} WHERE track_id = ?", (int(track_id),))

    def store_features(self, track_id: int, extractor_version: str, feats: Any) -> None:
        """Persist one track's features (a TrackFeatures). The mel is kept (float16) only with `keep_mels`: the
        small default cache holds what the map, filters and recommendations need (explorer.library.compact)."""
        tid = int(track_id)
        self.con.execute(
            "INSERT OR REPLACE INTO features (track_id, extractor_version, duration, excerpt_start, genre, lowlevel,"
            " interpretive, genre_inferred) VALUES (?,?,?,?,?,?,?,?)",
            (
                tid,
                extractor_version,
                float(feats.duration),
                float(feats.excerpt_start),
                f32(feats.genre),
                f32(feats.lowlevel),
                f32(feats.interpretive),
                int(bool(getattr(feats, "genre_inferred", False))),
            ),
        )
        if feats.mel is not None and self.keep_mels:  # ~180 KB a track: only for people who train (setting)
            mel = np.ascontiguousarray(feats.mel, dtype="<f2")
            self.con.execute(
                "INSERT OR REPLACE INTO mels (track_id, n_mels, frames, data) VALUES (?,?,?,?)",
                (tid, mel.shape[0], mel.shape[1], mel.tobytes()),
            )
        if feats.muq is not None:
            self.con.execute("INSERT OR REPLACE INTO muq (track_id, data) VALUES (?,?)", (tid, f32(feats.muq)))
        if getattr(feats, "musicnn", None) is not None:
            self.con.execute("INSERT OR REPLACE INTO musicnn (track_id, data) VALUES (?,?)", (tid, f32(feats.musicnn)))
        self.con.execute(
            "UPDATE tracks SET status='done', error=NULL, error_kind=NULL, updated_at=? WHERE id=?", (time.time(), tid)
        )

    def store_analysis(
        self, track_id: int, model_version: str, tag_scores: Any, quadrant_probs: Any, embedding: Any
    ) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO analysis (track_id, model_version, tag_scores, quadrant_probs, embedding)"
            " VALUES (?,?,?,?,?)",
            (int(track_id), model_version, f32(tag_scores), f32(quadrant_probs), f32(embedding)),
        )
        self.con.execute(
            "UPDATE tracks SET error = NULL, error_kind = NULL WHERE id = ? AND error_kind = 'model'", (int(track_id),)
        )  # an earlier model error is resolved


def path_key(path: PathLike) -> bytes:
    return os.fsencode(os.path.abspath(os.fspath(path)))


def _tag_values(tags: dict[str, Any]) -> tuple:
    def text(key: str) -> str | None:
        v = tags.get(key)
        return None if v in (None, "") else str(v).encode("utf-8", "replace").decode("utf-8")

    duration = tags.get("duration")
    return (
        text("title"),
        text("artist"),
        text("album"),
        text("genre"),
        json.dumps(list(tags.get("genres") or [])),
        text("year"),
        float(duration) if isinstance(duration, (int, float)) else None,
    )
