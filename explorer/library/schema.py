"""The cache's SQLite schema and its migrations: the one place that knows table layouts.

Vectors are stored as little-endian float32 blobs (the mel as float16) so a whole column can be read with one
query and turned into an array with one `np.frombuffer`. Big blobs (mel, MuQ) live in their own tables so that
the hot `load_arrays` query never walks their overflow pages.
"""

from __future__ import annotations

import sqlite3
import time

from explorer.library.errors import LibraryError

SCHEMA_VERSION = 4

# version -> DDL applied to go from version-1 to version. Append only; never edit a shipped step.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tracks (
        id INTEGER PRIMARY KEY,
        path BLOB NOT NULL UNIQUE,          -- os.fsencode(absolute path): exact, even for non-UTF-8 names
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint BLOB NOT NULL,          -- blake2b of size + first/middle/last 64 KiB
        title TEXT, artist TEXT, album TEXT, genre TEXT, genres TEXT, year TEXT, tag_duration REAL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        error TEXT,                         -- why decoding/extraction failed (status = 'failed')
        added_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX tracks_fingerprint ON tracks (fingerprint);
    CREATE INDEX tracks_status ON tracks (status);
    CREATE TABLE features (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        extractor_version TEXT NOT NULL,
        duration REAL NOT NULL,
        excerpt_start REAL NOT NULL,
        genre BLOB NOT NULL,                -- float32 multi-hot over GENRES
        lowlevel BLOB NOT NULL,             -- float32 (8,)
        interpretive BLOB NOT NULL          -- float32 (D,)
    );
    CREATE TABLE mels (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        n_mels INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        data BLOB NOT NULL                  -- float16 (n_mels, frames), row-major
    );
    CREATE TABLE muq (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        data BLOB NOT NULL                  -- float32 (1024,)
    );
    CREATE TABLE analysis (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        model_version TEXT NOT NULL,
        tag_scores BLOB NOT NULL,           -- float32 (12,)
        quadrant_probs BLOB NOT NULL,       -- float32 (4,)
        embedding BLOB NOT NULL             -- float32 (128,)
    );
    CREATE TABLE likes (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        time REAL NOT NULL
    );
    """,
    # A prebuilt copy of load_arrays()'s columns (one blob per column), valid while `generation` is unchanged:
    # triggers bump the generation on any write that changes what load_arrays returns (likes are read live).
    2: """
    CREATE TABLE array_snapshot (name TEXT PRIMARY KEY, data BLOB NOT NULL);
    CREATE TABLE generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
    INSERT INTO generation (id, value) VALUES (1, 1);
    """
    + "".join(
        f"CREATE TRIGGER {table}_{op.lower()}_bumps AFTER {op} ON {table} BEGIN"
        " UPDATE generation SET value = value + 1 WHERE id = 1; END;\n"
        for table in ("tracks", "features", "analysis")
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
    # Never lose a library: tracks whose folder is absent, empty or unreadable are kept as offline (hidden, listed,
    # removed only by an explicit prune); failures carry a kind that decides retries (explorer/library/failures.py);
    # a like outlives its track in kept_likes (by content fingerprint) and comes back when the file does.
    # Failures recorded before kinds existed are marked transient, so each is tried once more.
    3: """
    ALTER TABLE tracks ADD COLUMN offline_since REAL;
    ALTER TABLE tracks ADD COLUMN offline_reason TEXT;
    ALTER TABLE tracks ADD COLUMN error_kind TEXT CHECK (error_kind IN ('transient', 'permanent', 'model'));
    UPDATE tracks SET error_kind = 'transient' WHERE status = 'failed';
    CREATE INDEX tracks_offline ON tracks (offline_since) WHERE offline_since IS NOT NULL;
    CREATE TABLE kept_likes (
        fingerprint BLOB PRIMARY KEY,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        time REAL NOT NULL,
        path BLOB
    );
    CREATE TRIGGER tracks_delete_keeps_like BEFORE DELETE ON tracks BEGIN
        INSERT OR REPLACE INTO kept_likes (fingerprint, value, time, path)
        SELECT OLD.fingerprint, value, time, OLD.path FROM likes WHERE track_id = OLD.id;
    END;
    """,
    # MusiCNN-MSD per track (the pretrained branch's input, 200-d embedding + 50 tags) and whether the stored genre
    # vector was inferred from audio because the file's tags named no genre.
    4: """
    ALTER TABLE features ADD COLUMN genre_inferred INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE musicnn (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        data BLOB NOT NULL                  -- float32 (250,): embedding (200) then tag activations (50)
    );
    """,
}


class CacheSchemaError(LibraryError, RuntimeError):
    """The cache file was written by a newer program or is not a cache at all."""


def connect(path: str) -> sqlite3.Connection:
    """Open a cache DB in WAL mode; autocommit, so every write happens inside an explicit transaction."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    con.execute("PRAGMA page_size=16384")  # only takes effect on a new DB: fewer pages per big blob
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after a crash or SIGKILL
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache for the planning and model-only queries
    con.execute("PRAGMA mmap_size=1073741824")  # big column blobs (load_arrays snapshot) read without copies
    return con


def migrate(con: sqlite3.Connection) -> int:
    """Bring the DB to SCHEMA_VERSION, one recorded step at a time; returns the version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
    current = con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise CacheSchemaError(f"cache schema version {current} is newer than this program's ({SCHEMA_VERSION})")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        script = (
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]};\n"
            f"INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, {time.time()!r});\n"
            f"PRAGMA user_version={version};\nCOMMIT;"
        )
        try:
            con.executescript(script)  # trigger bodies hold ';', so the step runs as one script
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
