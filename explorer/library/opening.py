"""Opening a library's cache DB safely: read-only for commands that only read, and self-healing when damaged.

- Read-only opens (`qfx map`, `qfx recommend`, the app's viewer) never create a file and never change data: a
  library that was never indexed raises `LibraryNotIndexed`; a cache on read-only media or with read-only
  permissions is read as it is (an older one is upgraded in memory, or in place where it can be written).
- A cache that SQLite cannot read (not a database, malformed pages, a folder in its place) is moved aside as
  `<name>.corrupt-<time>` (never deleted) and a new one is started. Likes that can still be read from the old file
  are carried over by content fingerprint, so they come back as the tracks are indexed again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from explorer.library.errors import LibraryError
from explorer.library.schema import SCHEMA_VERSION, CacheSchemaError, connect, migrate

log = logging.getLogger(__name__)

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_CANTOPEN = 14
MAX_IN_MEMORY_UPGRADE = 512 * 1024 * 1024  # bytes: an older read-only cache up to this size is upgraded in memory


class CacheError(LibraryError, RuntimeError):
    """A cache that cannot be used as asked; the message names the file and what to do."""


class LibraryNotIndexed(CacheError):
    """A read-only open of a library that has no cache yet (nothing is created)."""


class CacheDamaged(CacheError):
    """The cache file cannot be read; read-write opens repair this by moving it aside."""


def is_damage(exc: BaseException) -> bool:
    """True for SQLite errors that mean the file's content is unusable (not for locks or permissions)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def damage_marker(db_path: Path) -> Path:
    """A side file written when damage shows up mid-run, so the next read-write open repairs the cache."""
    return db_path.with_name(db_path.name + ".damaged")


def mark_damaged(db_path: Path, exc: BaseException) -> None:
    try:
        damage_marker(db_path).write_text(f"{time.time()} {exc}\n", encoding="utf-8")
    except OSError:
        pass


def probe(con: sqlite3.Connection) -> None:
    """Cheap reads (the schema, then the first and last row of each main table: a few pages whatever the library's
    size) that notice a file that is not a cache or has damaged table roots. Damage deeper down shows up while
    reading and is repaired by the next open (`mark_damaged`)."""
    con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    for table in ("tracks", "likes", "features", "analysis"):
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
            for order in ("ASC", "DESC"):
                con.execute(f"SELECT * FROM {table} ORDER BY rowid {order} LIMIT 1").fetchone()


def schema_version(con: sqlite3.Connection) -> int:
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone():
        return 0
    return int(con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


# ---- read-only ----------------------------------------------------------------------------------------------
def _connect_ro(db_path: Path, immutable: bool) -> sqlite3.Connection:
    uri = f"file:{quote(os.fsdecode(db_path))}?mode=ro" + ("&immutable=1" if immutable else "")
    con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        con.execute("PRAGMA query_only=ON")
        con.execute("PRAGMA cache_size=-65536")
        con.execute("PRAGMA mmap_size=1073741824")
    except BaseException:
        con.close()  # never leave a half-opened handle for the garbage collector (it pins read-only mounts)
        raise
    return con


def open_readonly(db_path: Path, library_root: Path) -> sqlite3.Connection:
    """A read-only connection to an existing cache, brought to the current schema without writing to the file
    when it is older (migrated in memory)."""
    if not db_path.is_file():
        raise LibraryNotIndexed(
            f"{os.fsdecode(library_root)} is not indexed yet (no cache at {db_path}): "
            f"run `qfx index {os.fsdecode(library_root)}` first"
        )
    con = None
    try:
        try:
            con = _connect_ro(db_path, immutable=False)
            probe(con)
        except sqlite3.OperationalError:  # read-only folder without the WAL's -shm file: read the file as it is
            if con is not None:
                con.close()
            con = _connect_ro(db_path, immutable=True)
            probe(con)
        version = schema_version(con)
    except sqlite3.DatabaseError as exc:
        if con is not None:
            con.close()
        raise CacheDamaged(
            f"the cache {db_path} for {os.fsdecode(library_root)} cannot be read ({exc}); "
            f"run `qfx index {os.fsdecode(library_root)}` to move it aside and rebuild it"
        ) from exc
    if version > SCHEMA_VERSION:
        con.close()
        raise CacheSchemaError(
            f"cache schema version {version} of {db_path} is newer than this program's ({SCHEMA_VERSION})"
        )
    if version < SCHEMA_VERSION:
        con.close()
        con = _read_older(db_path, library_root)
    return con


def _read_older(db_path: Path, library_root: Path) -> sqlite3.Connection:
    """An older cache for reading. Where the file can be written, its schema is upgraded in place first (the
    steps only add columns and tables; no data is touched); on read-only media a small cache is upgraded in a
    private in-memory copy; a large one is refused with what to do (copying it into memory could exhaust it)."""
    if os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK):
        rw = connect(str(db_path))
        try:
            migrate(rw)
        finally:
            rw.close()
        return _connect_ro(db_path, immutable=False)
    if db_path.stat().st_size > MAX_IN_MEMORY_UPGRADE:
        raise CacheError(
            f"the cache {db_path} was written by an older version and sits on read-only media; "
            f"run `qfx index {os.fsdecode(library_root)}` once where it can be written to upgrade it"
        )
    ro = _connect_ro(db_path, immutable=True)
    mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        ro.backup(mem)
    finally:
        ro.close()
    migrate(mem)
    return mem


# ---- read-write, with repair ----------------------------------------------------------------------------------
def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime()) + f"-{os.getpid()}"


def move_aside(db_path: Path) -> Path:
    """Rename the damaged DB (and its -wal/-shm, kept as a pair) to `<name>.corrupt-<time>`; never deletes."""
    target = db_path.with_name(f"{db_path.name}.corrupt-{_stamp()}")
    os.replace(db_path, target)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    marker = damage_marker(db_path)
    if marker.exists():
        marker.unlink()
    return target


def readable_likes(old: Path) -> list[tuple[bytes, int, float, bytes | None]]:
    """(fingerprint, value, time, path) of every like that can still be read from a damaged cache file."""
    out: list[tuple[bytes, int, float, bytes | None]] = []
    for immutable in (False, True):
        try:
            con = _connect_ro(old, immutable=immutable)
        except sqlite3.Error:
            continue
        try:
            rows = con.execute("SELECT track_id, value, time FROM likes").fetchall()
            for track_id, value, when in rows:
                try:
                    row = con.execute("SELECT fingerprint, path FROM tracks WHERE id = ?", (track_id,)).fetchone()
                except sqlite3.Error:
                    continue
                if row is not None and value in (-1, 1):
                    out.append((bytes(row[0]), int(value), float(when), bytes(row[1])))
            try:
                out += [
                    (bytes(f), int(v), float(t), None if p is None else bytes(p))
                    for f, v, t, p in con.execute("SELECT fingerprint, value, time, path FROM kept_likes")
                ]
            except sqlite3.Error:
                pass
            return out
        except sqlite3.Error:
            out.clear()
        finally:
            con.close()
    return out


def open_readwrite(db_path: Path) -> tuple[sqlite3.Connection, list[str]]:
    """A migrated read-write connection, repairing a damaged file first; returns it with notices for the user."""
    notices: list[str] = []
    damaged = damage_marker(db_path).exists()
    if not damaged:
        try:
            con = connect(str(db_path))
            try:
                migrate(con)
                probe(con)
                return con, notices
            except BaseException:
                con.close()
                raise
        except sqlite3.DatabaseError as exc:
            cant_open = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == _CANTOPEN
            unusable = db_path.exists() and (
                not db_path.is_file() or (cant_open and not os.access(db_path, os.R_OK | os.W_OK))
            )
            if not (is_damage(exc) or unusable):
                raise CacheError(f"cannot open the cache {db_path}: {exc}") from exc
            reason = str(exc)
    else:
        reason = "damage was found during an earlier run"
    try:
        moved = move_aside(db_path)
    except OSError as exc:
        raise CacheDamaged(
            f"the cache {db_path} cannot be read ({reason}) and cannot be moved aside "
            f"({exc.strerror or exc}); move or delete it by hand"
        ) from exc
    likes = readable_likes(moved) if moved.is_file() else []
    con = connect(str(db_path))
    migrate(con)
    if likes:
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT OR REPLACE INTO kept_likes (fingerprint, value, time, path) VALUES (?,?,?,?)", likes)
        con.execute("COMMIT")
    message = (
        f"the cache {db_path} could not be read ({reason}); moved it aside to {moved} and started a new "
        f"one; {len(likes)} like(s) carried over (they return as their tracks are indexed again)"
    )
    log.warning("%s", message)
    notices.append(message)
    return con, notices
