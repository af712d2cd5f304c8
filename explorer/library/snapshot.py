"""load_arrays() fast path: the analysed library as one blob per column, rebuilt only when the data changed.

Reading 100k rows through the join costs ~1 s of Python object churn; reading ten blobs and calling
`np.frombuffer` costs milliseconds. Triggers (schema step 2) bump `generation` on every write to tracks, features
or analysis; a snapshot stamped with an older generation is ignored and rebuilt. Likes change often and are tiny,
so they are never part of the snapshot: they are read live and matched by track id.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import numpy as np

from explorer.library.arrays import LibraryArrays

_TEXT = ("titles", "artists", "albums")
_VECTORS = ("genres", "tag_scores", "quadrant_probs", "embeddings", "descriptors")
_SCALARS = ("durations", "excerpt_starts")


def generation(con: sqlite3.Connection) -> int:
    return int(con.execute("SELECT value FROM generation WHERE id = 1").fetchone()[0])


def _stack(blobs, n: int, width: int) -> np.ndarray:
    if n == 0:
        return np.zeros((0, width), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(n, -1).astype(np.float32)


def query_arrays(con: sqlite3.Connection, names: dict[str, list[str]]) -> LibraryArrays:
    """The slow, always-correct path: one join over every analysed track (row order = track id)."""
    from core.features.genre import genre_vector

    rows = con.execute(
        "SELECT t.id, t.path, t.title, t.artist, t.album, t.genre, f.duration, f.excerpt_start, f.genre,"
        " f.interpretive, a.tag_scores, a.quadrant_probs, a.embedding, f.genre_inferred"
        " FROM tracks t JOIN features f ON f.track_id = t.id JOIN analysis a ON a.track_id = t.id"
        " WHERE t.status = 'done' AND t.offline_since IS NULL ORDER BY t.id"  # offline tracks are kept, not shown
    ).fetchall()
    n = len(rows)
    cols = list(zip(*rows)) if n else [()] * 14
    n_genres = len(names["genre_names"])
    genres = _stack(cols[8], n, n_genres)
    if genres.shape[1] != n_genres:  # the genre table changed since indexing: rebuild from the raw strings
        genres = np.stack([genre_vector(g or "") for g in cols[5]]).astype(np.float32)
    return LibraryArrays(
        track_ids=np.fromiter(cols[0], dtype=np.int64, count=n),
        paths=[os.fsdecode(bytes(p)) for p in cols[1]],
        titles=[t or "" for t in cols[2]],
        artists=[a or "" for a in cols[3]],
        albums=[a or "" for a in cols[4]],
        genre_names=list(names["genre_names"]),
        genres=genres,
        tag_names=list(names["tag_names"]),
        tag_scores=_stack(cols[10], n, len(names["tag_names"])),
        quadrant_probs=_stack(cols[11], n, 4),
        embeddings=_stack(cols[12], n, 128),
        descriptor_names=list(names["descriptor_names"]),
        descriptors=_stack(cols[9], n, len(names["descriptor_names"])),
        durations=np.asarray(cols[6], dtype=np.float32).reshape(n),
        excerpt_starts=np.asarray(cols[7], dtype=np.float32).reshape(n),
        liked=np.zeros(n, dtype=np.int8),
        genre_inferred=np.asarray(cols[13], dtype=bool).reshape(n),
    )


def _join_text(values: list[str]) -> bytes:
    return "\0".join(v.replace("\0", " ") for v in values).encode("utf-8", "surrogateescape")


def _split_text(blob: bytes, n: int) -> list[str]:
    return blob.decode("utf-8", "surrogateescape").split("\0") if n else []


def _decode_paths(blob: bytes, n: int) -> list[str]:
    """os.fsdecode of every path at once (one decode of the joined bytes, then a split on NUL)."""
    if not n:
        return []
    return blob.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()).split("\0")


def write_snapshot(con: sqlite3.Connection, arrays: LibraryArrays, gen: int) -> None:
    """Store `arrays` (built at generation `gen`) as one row per column; call inside a transaction."""
    n = len(arrays)
    header = {
        "generation": gen,
        "n": n,
        "names": {k: getattr(arrays, k) for k in ("genre_names", "tag_names", "descriptor_names")},
        "widths": {k: int(getattr(arrays, k).shape[1]) for k in _VECTORS},
    }
    data: dict[str, bytes] = {
        "header": json.dumps(header).encode(),
        "track_ids": np.ascontiguousarray(arrays.track_ids, dtype="<i8").tobytes(),
        "paths": b"\0".join(os.fsencode(p) for p in arrays.paths),
    }
    data.update({k: _join_text(getattr(arrays, k)) for k in _TEXT})
    data.update({k: np.ascontiguousarray(getattr(arrays, k), dtype="<f4").tobytes() for k in _VECTORS + _SCALARS})
    data["genre_inferred"] = np.ascontiguousarray(arrays.genre_inferred, dtype=np.uint8).tobytes()
    con.execute("DELETE FROM array_snapshot")
    con.executemany("INSERT INTO array_snapshot (name, data) VALUES (?, ?)", list(data.items()))


def read_snapshot(con: sqlite3.Connection, names: dict[str, list[str]]) -> LibraryArrays | None:
    """The snapshot as arrays, or None when it is missing, stale or made with other name tables."""
    data = {name: blob for name, blob in con.execute("SELECT name, data FROM array_snapshot")}
    if "header" not in data:
        return None
    header = json.loads(data["header"])
    if header["generation"] != generation(con) or header["names"] != names or "genre_inferred" not in data:
        return None  # stale, other name tables, or made before genre inference existed
    n = int(header["n"])
    vec = {k: np.frombuffer(data[k], dtype="<f4").reshape(n, header["widths"][k]).copy() for k in _VECTORS}
    return LibraryArrays(
        track_ids=np.frombuffer(data["track_ids"], dtype="<i8").astype(np.int64),
        paths=_decode_paths(data["paths"], n),
        titles=_split_text(data["titles"], n),
        artists=_split_text(data["artists"], n),
        albums=_split_text(data["albums"], n),
        genre_names=list(names["genre_names"]),
        genres=vec["genres"],
        tag_names=list(names["tag_names"]),
        tag_scores=vec["tag_scores"],
        quadrant_probs=vec["quadrant_probs"],
        embeddings=vec["embeddings"],
        descriptor_names=list(names["descriptor_names"]),
        descriptors=vec["descriptors"],
        durations=np.frombuffer(data["durations"], dtype="<f4").copy(),
        excerpt_starts=np.frombuffer(data["excerpt_starts"], dtype="<f4").copy(),
        liked=np.zeros(n, dtype=np.int8),
        genre_inferred=np.frombuffer(data["genre_inferred"], dtype=np.uint8).astype(bool),
    )


def apply_likes(con: sqlite3.Connection, arrays: LibraryArrays) -> None:
    likes = con.execute("SELECT track_id, value FROM likes").fetchall()
    liked = np.zeros(len(arrays), dtype=np.int8)
    if likes and len(arrays):
        ids = np.array([t for t, _ in likes], dtype=np.int64)
        vals = np.array([v for _, v in likes], dtype=np.int8)
        pos = np.searchsorted(arrays.track_ids, ids)  # track_ids are sorted (ORDER BY id)
        ok = (pos < len(arrays)) & (arrays.track_ids[np.minimum(pos, len(arrays) - 1)] == ids)
        liked[pos[ok]] = vals[ok]
    arrays.liked = liked


def load_musicnn(con: sqlite3.Connection, arrays: LibraryArrays) -> None:
    """Attach the (N, 250) MusiCNN column when every listed track has one (1 KiB/track, so only on request)."""
    if not len(arrays):
        return
    by_id = dict(con.execute("SELECT track_id, data FROM musicnn").fetchall())
    blobs = [by_id.get(int(t)) for t in arrays.track_ids]
    if all(b is not None for b in blobs):
        arrays.musicnn = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(arrays), -1).copy()


def load_muq(con: sqlite3.Connection, arrays: LibraryArrays) -> None:
    """Attach the (N, 1024) MuQ column when every listed track has one (4 KiB/track, so only on request)."""
    if not len(arrays):
        return
    rows = con.execute("SELECT track_id, data FROM muq ORDER BY track_id").fetchall()
    by_id = dict(rows)
    blobs = [by_id.get(int(t)) for t in arrays.track_ids]
    if all(b is not None for b in blobs):
        arrays.muq = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(arrays), -1).copy()
