"""Issue 11: a damaged cache is moved aside and rebuilt (likes carried over), read-only commands open the cache
read-only (also on read-only media) and never create empty cache files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.features.interpretive import DESCRIPTOR_NAMES
from explorer.cli.main import main as qfx
from explorer.library.cache import (
    CacheDamaged,
    LibraryCache,
    LibraryNotIndexed,
    cache_path,
    open_indexed,
)
from explorer.library.plan import plan_run
from tests.library_helpers import can_mount


def _library(tmp_path: Path, demo_files: list[Path], n: int = 3) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files[:n]:
        shutil.copy2(f, lib / f.name)
    return lib


def _fake_analysis(cache: LibraryCache) -> None:
    """Stored features and model results for every track, without decoding (cheap, deterministic)."""
    from types import SimpleNamespace

    from core.features.genre import genre_vector

    rng = np.random.default_rng(0)
    with cache.transaction():
        for (tid,) in cache.con.execute("SELECT id FROM tracks").fetchall():
            feats = SimpleNamespace(
                duration=120.0,
                excerpt_start=10.0,
                mel=None,
                muq=None,
                genre=genre_vector("Rock"),
                lowlevel=rng.normal(size=8),
                interpretive=rng.normal(size=len(DESCRIPTOR_NAMES)),
            )
            cache.store_features(tid, "1", feats)
            cache.store_analysis(tid, "m", rng.dirichlet(np.ones(12)), rng.dirichlet(np.ones(4)), rng.normal(size=128))


def _indexed(lib: Path, cache_dir: Path, likes: int = 2) -> list[int]:
    with LibraryCache.open(lib, cache_dir) as cache:
        plan_run(cache, sorted(lib.iterdir()), extractor_version="1", model_version=None, need_muq=False)
        _fake_analysis(cache)
        ids = [int(t) for (t,) in cache.con.execute("SELECT id FROM tracks ORDER BY id")]
        for tid in ids[:likes]:
            cache.set_like(tid, 1)
        cache.load_arrays()
    return ids


def _smash_table(db: Path, table: str) -> None:
    """Overwrite the root page of `table` with garbage: what a bad sector or a torn copy does."""
    con = sqlite3.connect(db)
    root, page = con.execute(
        f"SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master WHERE name = '{table}'"
    ).fetchone()
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page)
        fh.write(os.urandom(page))


def test_damaged_cache_is_moved_aside_rebuilt_and_likes_return(
    tmp_path: Path, demo_files: list[Path], capsys: pytest.CaptureFixture
) -> None:
    lib = _library(tmp_path, demo_files)
    cache_dir = tmp_path / "cache"
    _indexed(lib, cache_dir, likes=2)
    db = cache_path(lib, cache_dir)
    _smash_table(db, "features")

    # Read-only commands cannot repair: they say which file and what to run.
    assert qfx(["map", str(lib), "--cache", str(cache_dir), "--out", str(tmp_path / "m.png")]) == 1
    err = capsys.readouterr().err
    assert str(db) in err and "qfx index" in err
    with pytest.raises(CacheDamaged):
        open_indexed(lib, cache_dir)

    with LibraryCache.open(lib, cache_dir) as cache:  # what `qfx index` and the app do
        moved = [p for p in cache_dir.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
        assert len(moved) == 1 and len(cache.notices) == 1
        assert str(db) in cache.notices[0] and str(moved[0]) in cache.notices[0]
        assert "2 like(s) carried over" in cache.notices[0]
        assert cache.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        plan = plan_run(cache, sorted(lib.iterdir()), extractor_version="1", model_version=None, need_muq=False)
        assert plan.added == 3 and plan.restored_likes == 2 and len(cache.likes()) == 2


def test_file_that_is_not_a_database_is_replaced(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = _library(tmp_path, demo_files, 1)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    db = cache_path(lib, cache_dir)
    db.write_bytes(b"not a database at all " * 500)
    with LibraryCache.open(lib, cache_dir) as cache:
        assert "0 like(s) carried over" in cache.notices[0] and "file is not a database" in cache.notices[0]
    moved = [p for p in cache_dir.iterdir() if ".corrupt-" in p.name]
    assert [p.read_bytes()[:22] for p in moved] == [b"not a database at all "]  # kept, never deleted


def test_read_commands_create_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cache_dir = tmp_path / "cache"
    assert qfx(["index", str(tmp_path / "nonexistent"), "--cache", str(cache_dir), "--quiet"]) == 1
    assert "library folder not found" in capsys.readouterr().err
    (tmp_path / "music").mkdir()
    assert qfx(["map", str(tmp_path / "music"), "--cache", str(cache_dir), "--out", str(tmp_path / "m.png")]) == 1
    assert "is not indexed yet" in capsys.readouterr().err
    assert qfx(["recommend", str(tmp_path / "music"), "--cache", str(cache_dir), "--like", "x.mp3"]) == 1
    assert "is not indexed yet" in capsys.readouterr().err
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
    with pytest.raises(LibraryNotIndexed):
        open_indexed(tmp_path / "music", cache_dir)


def test_read_only_cache_on_read_only_mount(
    tmp_path: Path, demo_files: list[Path], capsys: pytest.CaptureFixture
) -> None:
    if not can_mount(tmp_path / "probe"):
        pytest.skip("mounting is not allowed here: a read-only mount cannot be made (root ignores chmod)")
    lib = _library(tmp_path, demo_files)
    cache_dir = tmp_path / "cache"
    _indexed(lib, cache_dir, likes=1)
    before = sorted(p.name for p in cache_dir.iterdir())
    subprocess.run(["mount", "--bind", str(cache_dir), str(cache_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(cache_dir)], check=True)
        with pytest.raises(OSError):
            (cache_dir / "probe").write_text("x")  # really read-only, even for root
        capsys.readouterr()
        assert qfx(["map", str(lib), "--cache", str(cache_dir), "--out", str(tmp_path / "m.png")]) == 0
        assert (tmp_path / "m.png").stat().st_size > 1000
        assert qfx(["recommend", str(lib), "--cache", str(cache_dir), "--n", "1"]) == 0  # from the stored like
        assert "1 liked" in capsys.readouterr().out
        with open_indexed(lib, cache_dir) as cache:
            assert len(cache.load_arrays()) == 3 and cache.readonly
    finally:
        unmounted = subprocess.run(["umount", str(cache_dir)]).returncode == 0
        if not unmounted:
            subprocess.run(["umount", "-l", str(cache_dir)])
    assert unmounted, "a handle on the read-only cache was left open"
    assert sorted(p.name for p in cache_dir.iterdir()) == before


def test_damage_found_during_a_run_is_repaired_by_the_next_open(tmp_path: Path, demo_files: list[Path]) -> None:
    from explorer.library.opening import mark_damaged

    lib = _library(tmp_path, demo_files, 2)
    cache_dir = tmp_path / "cache"
    _indexed(lib, cache_dir, likes=2)
    db = cache_path(lib, cache_dir)
    mark_damaged(db, sqlite3.DatabaseError("database disk image is malformed"))  # what index_library does
    with LibraryCache.open(lib, cache_dir) as cache:
        assert "earlier run" in cache.notices[0] and "2 like(s) carried over" in cache.notices[0]
        assert cache.con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 0
    with LibraryCache.open(lib, cache_dir) as cache:  # repaired once, not at every open
        assert cache.notices == []
