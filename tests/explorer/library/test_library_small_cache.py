"""Issue 14, the small cache: no mel by default (a few KB a track), and an old cache (schema 2, full mels) is
migrated in place without losing likes; a read-only open of an old cache upgrades a private copy, not the file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from core.features.genre import GENRES, genre_vector
from core.features.interpretive import DESCRIPTOR_NAMES
from core.features.track import EXTRACTOR_VERSION
from explorer.library.cache import LibraryCache, cache_path, open_indexed
from explorer.library.fingerprint import file_fingerprint
from explorer.library.indexer import index_library
from explorer.library.schema import MIGRATIONS, SCHEMA_VERSION


def _f32(a) -> bytes:
    return np.asarray(a, dtype="<f4").tobytes()


def build_schema2_cache(db: Path, files: list[Path], failed: Path | None) -> None:
    """A cache as the previous release wrote it: schema steps 1-2 (append-only, so the very DDL it ran), full
    float16 mels, model results, a like, and a file recorded as failed by a temporary error."""
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA page_size=16384")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
    for version in (1, 2):
        con.executescript(
            f"BEGIN;\n{MIGRATIONS[version]};\nINSERT INTO schema_migrations VALUES ({version}, 0);"
            f"\nPRAGMA user_version={version};\nCOMMIT;"
        )
    rng = np.random.default_rng(0)
    now = time.time()
    for i, path in enumerate(files + ([failed] if failed is not None else []), start=1):
        st = os.stat(path)
        status = "failed" if path == failed else "done"
        con.execute(
            "INSERT INTO tracks (id, path, size, mtime_ns, fingerprint, title, genres, status, error,"
            " added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                i,
                os.fsencode(str(path)),
                st.st_size,
                st.st_mtime_ns,
                file_fingerprint(path),
                path.stem,
                "[]",
                status,
                "FileNotFoundError: gone for a moment" if status == "failed" else None,
                now,
                now,
            ),
        )
        if status == "done":
            con.execute(
                "INSERT INTO features VALUES (?,?,?,?,?,?,?)",
                (
                    i,
                    EXTRACTOR_VERSION,
                    30.0,
                    0.0,
                    _f32(genre_vector("Rock")),
                    _f32(rng.normal(size=8)),
                    _f32(rng.normal(size=len(DESCRIPTOR_NAMES))),
                ),
            )
            con.execute(
                "INSERT INTO mels VALUES (?,?,?,?)", (i, 48, 1876, rng.normal(size=(48, 1876)).astype("<f2").tobytes())
            )
            con.execute(
                "INSERT INTO analysis VALUES (?,?,?,?,?)",
                (
                    i,
                    "m-old",
                    _f32(rng.dirichlet(np.ones(12))),
                    _f32(rng.dirichlet(np.ones(4))),
                    _f32(rng.normal(size=128)),
                ),
            )
    con.execute("INSERT INTO likes VALUES (1, 1, ?)", (now,))
    if len(files) > 1:
        con.execute("INSERT INTO likes VALUES (2, -1, ?)", (now,))
    con.close()


def test_old_cache_is_migrated_in_place_without_losing_likes(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    files = []
    for f in demo_files[:3]:
        shutil.copy2(f, lib / f.name)
        files.append(lib / f.name)
    cache_dir = tmp_path / "cache"
    db = cache_path(lib, cache_dir)
    build_schema2_cache(db, files[:2], failed=files[2])
    before = db.stat().st_size
    assert before > 2 * 48 * 1876 * 2

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(db, copy / db.name)
    with open_indexed(lib, copy) as cache:  # a read-only open upgrades the schema only: no data is dropped
        assert len(cache.load_arrays()) == 2 and cache.likes() == {1: 1, 2: -1}
    con = sqlite3.connect(copy / db.name)
    assert con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("SELECT COUNT(*) FROM mels").fetchone()[0] == 2
    con.close()

    with LibraryCache.open(lib, cache_dir) as cache:
        assert cache.likes() == {1: 1, 2: -1} and cache.track(3)["error_kind"] == "transient"
        s = index_library(lib, cache, workers=1, model=False)
        assert any("dropped the stored mels of 2 track(s)" in n for n in s.notices)
        assert s.retried == 1 and s.analysed == 1 and s.unchanged == 2  # the old failure got its retry
        assert cache.likes() == {1: 1, 2: -1} and cache.con.execute("SELECT COUNT(*) FROM mels").fetchone()[0] == 0
        arrays = cache.load_arrays()
        assert len(arrays) == 2 and sorted(arrays.liked.tolist()) == [-1, 1]
        assert cache.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = db.stat().st_size
    assert before - after > 1.5 * 48 * 1876 * 2  # the two mels (~176 KiB each) are gone from the file


def test_new_tracks_cost_a_few_kb(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files[:4]:
        shutil.copy2(f, lib / f.name)
    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        index_library(lib, cache, workers=1, model=False)
        per_track = cache.con.execute(
            "SELECT SUM(length(f.genre) + length(f.lowlevel) + length(f.interpretive)) FROM features f"
        ).fetchone()[0]
        assert cache.con.execute("SELECT COUNT(*) FROM mels").fetchone()[0] == 0
        assert per_track / 4 < 25_000 and len(GENRES) > 0


def test_old_cache_on_read_only_media_is_read_without_writing(tmp_path: Path, demo_files: list[Path]) -> None:
    import subprocess

    import pytest

    from tests.library_helpers import can_mount

    if not can_mount(tmp_path / "probe"):
        pytest.skip("mounting is not allowed here: a read-only mount cannot be made (root ignores chmod)")
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy2(demo_files[0], lib / demo_files[0].name)
    cache_dir = tmp_path / "cache"
    db = cache_path(lib, cache_dir)
    build_schema2_cache(db, [lib / demo_files[0].name], failed=None)
    before = db.read_bytes()
    subprocess.run(["mount", "--bind", str(cache_dir), str(cache_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(cache_dir)], check=True)
        with open_indexed(lib, cache_dir) as cache:  # upgraded in a private in-memory copy
            assert len(cache.load_arrays()) == 1 and cache.likes() == {1: 1}
    finally:
        if subprocess.run(["umount", str(cache_dir)]).returncode != 0:
            subprocess.run(["umount", "-l", str(cache_dir)])
    assert db.read_bytes() == before
