"""LibraryCache: location, schema/migrations, WAL, blob round trips, load_arrays, likes, byte paths."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.emotions import TAGS
from core.features.genre import GENRES, genre_vector
from core.features.interpretive import DESCRIPTOR_NAMES
from explorer.library.cache import LibraryCache, default_cache_dir, library_db_name
from explorer.library.schema import SCHEMA_VERSION, CacheSchemaError

D = len(DESCRIPTOR_NAMES)


def _feats(rng: np.random.Generator, genre: str = "Rock", frames: int = 40, muq: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        duration=float(rng.uniform(60, 300)),
        excerpt_start=float(rng.uniform(0, 60)),
        mel=rng.normal(size=(48, frames)).astype(np.float32),
        lowlevel=rng.normal(size=8).astype(np.float32),
        interpretive=rng.normal(size=D).astype(np.float32),
        genre=genre_vector(genre),
        muq=rng.normal(size=1024).astype(np.float32) if muq else None,
    )


def _fill(cache: LibraryCache, root: Path, n: int, seed: int = 0, muq: bool = True) -> list[int]:
    rng = np.random.default_rng(seed)
    ids = []
    with cache.transaction():
        for i in range(n):
            tid = cache.add_track(
                root / f"{i:03d}.mp3",
                1000 + i,
                10**9 + i,
                bytes([i % 256]) * 16,
                {"title": f"T{i}", "artist": f"A{i % 3}", "album": "Alb", "genre": "Jazz"},
            )
            f = _feats(rng, muq=muq)
            cache.store_features(tid, "1", f)
            scores = rng.dirichlet(np.ones(12))
            cache.store_analysis(tid, "m1", scores, rng.dirichlet(np.ones(4)), rng.normal(size=128))
            ids.append(tid)
    return ids


def test_location_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QFX_CACHE_DIR", raising=False)
    assert "quadfusion-explorer" in str(default_cache_dir())
    monkeypatch.setenv("QFX_CACHE_DIR", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    with LibraryCache.open(tmp_path / "lib") as cache:
        assert cache.db_path.parent == tmp_path / "envcache"
        assert cache.db_path.name == library_db_name(tmp_path / "lib")
    with LibraryCache.open(tmp_path / "lib", tmp_path / "explicit") as cache:  # --cache wins over the env
        assert cache.db_path.parent == tmp_path / "explicit"
    assert library_db_name(tmp_path / "a") != library_db_name(tmp_path / "b")


def test_schema_wal_and_newer_schema_refused(tmp_path: Path) -> None:
    with LibraryCache.open(tmp_path / "lib", tmp_path) as cache:
        assert cache.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [v for (v,) in cache.con.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        db = cache.db_path
    with LibraryCache.open(tmp_path / "lib", tmp_path):  # reopening migrates nothing twice
        pass
    con = sqlite3.connect(db)
    con.execute("INSERT INTO schema_migrations VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(CacheSchemaError):
        LibraryCache.open(tmp_path / "lib", tmp_path)


def test_load_arrays_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with LibraryCache.open(root, tmp_path) as cache:
        empty = cache.load_arrays()
        assert len(empty) == 0 and empty.tag_scores.shape == (0, 12)
        ids = _fill(cache, root, 5)
        with cache.transaction():  # a failed and a pending track never show up in the arrays
            bad = cache.add_track(root / "bad.mp3", 1, 1, b"x" * 16, {})
            cache.record_failure(bad, "not a recognised audio file")
            cache.add_track(root / "todo.mp3", 1, 1, b"y" * 16, {})
        a = cache.load_arrays(muq=True)
    assert list(a.track_ids) == ids and len(a) == 5
    assert a.paths[0] == str(root / "000.mp3") and a.titles[2] == "T2" and a.albums[0] == "Alb"
    assert a.tag_names == list(TAGS) and a.genre_names == list(GENRES) and a.descriptor_names == list(DESCRIPTOR_NAMES)
    assert a.tag_scores.shape == (5, 12) and a.quadrant_probs.shape == (5, 4) and a.embeddings.shape == (5, 128)
    assert a.descriptors.shape == (5, D) and a.genres.shape == (5, len(GENRES)) and a.muq.shape == (5, 1024)
    assert a.tag_scores.dtype == np.float32 and a.durations.shape == (5,) and a.liked.tolist() == [0] * 5
    np.testing.assert_allclose(a.tag_scores.sum(1), 1.0, atol=1e-5)
    rng = np.random.default_rng(0)
    first = _feats(rng)
    np.testing.assert_array_equal(a.descriptors[0], first.interpretive)
    np.testing.assert_array_equal(a.muq[0], first.muq)
    assert a.genres[0, GENRES.index("Pop/Rock")] == 1.0 and a.genres[0].sum() == 1.0  # "Rock" -> canonical
    assert a.durations[0] == pytest.approx(first.duration)


def test_stored_mel_is_float16_and_feeds_the_model(tmp_path: Path) -> None:
    from explorer.library.compact import set_keep_mels

    root = tmp_path / "lib"
    with LibraryCache.open(root, tmp_path) as cache:
        set_keep_mels(cache, True)  # the training setting; the default small cache keeps no mel
        ids = _fill(cache, root, 2)
        (x, y) = cache.stored_inputs(ids)
        size = cache.con.execute("SELECT length(data) FROM mels WHERE track_id = ?", (ids[0],)).fetchone()[0]
    expected = _feats(np.random.default_rng(0))
    assert size == 48 * 40 * 2
    np.testing.assert_allclose(x["mel"], expected.mel, atol=2e-3, rtol=1e-3)
    np.testing.assert_array_equal(x["lowlevel"], expected.lowlevel)
    assert x["muq"].shape == (1024,) and y["track_id"] == ids[1]


def test_default_cache_keeps_no_mel(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with LibraryCache.open(root, tmp_path) as cache:
        ids = _fill(cache, root, 2)
        assert cache.con.execute("SELECT COUNT(*) FROM mels").fetchone()[0] == 0
        assert cache.stored_inputs(ids) == [] and len(cache.load_arrays()) == 2


def test_likes_persist_and_follow_the_track(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with LibraryCache.open(root, tmp_path) as cache:
        ids = _fill(cache, root, 3, muq=False)
        cache.set_like(ids[0], 1)
        cache.set_like(ids[1], -1)
        cache.set_like(ids[1], 1)
        cache.set_like(ids[2], -1)
        cache.set_like(ids[2], 0)  # cleared
        with pytest.raises(ValueError):
            cache.set_like(ids[0], 2)
    with LibraryCache.open(root, tmp_path) as cache:
        assert cache.likes() == {ids[0]: 1, ids[1]: 1}
        with cache.transaction():
            cache.move_track(ids[0], root / "moved" / "000.mp3", 1000, 5)
        a = cache.load_arrays()
        assert a.liked.tolist() == [1, 1, 0] and a.muq is None
        assert cache.track(ids[0])["path"].endswith("moved/000.mp3") and cache.track(ids[0])["liked"] == 1
        with cache.transaction():
            cache.remove_tracks([ids[1]])
        assert cache.likes() == {ids[0]: 1}  # a removed track takes its like with it


@pytest.mark.skipif(os.name != "posix", reason="byte file names are a POSIX thing")
def test_non_utf8_paths_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    raw = os.fsdecode(os.fsencode(str(root)) + b"/Caf\xe9.ogg")
    with LibraryCache.open(root, tmp_path) as cache:
        with cache.transaction():
            tid = cache.add_track(raw, 1, 1, b"z" * 16, {"title": raw})
        assert cache.track(tid)["path"] == raw
        assert cache.track_id(raw) == tid
        assert "\ufffd" in cache.track(tid)["title"] or "?" in cache.track(tid)["title"]


def test_snapshot_is_used_and_invalidated(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with LibraryCache.open(root, tmp_path) as cache:
        ids = _fill(cache, root, 4)
        first = cache.load_arrays()
        assert cache.con.execute("SELECT COUNT(*) FROM array_snapshot").fetchone()[0] > 0
        again = cache.load_arrays()  # served from the snapshot: same content
        np.testing.assert_array_equal(first.embeddings, again.embeddings)
        assert again.paths == first.paths and again.titles == first.titles
        with cache.transaction():  # any write to the analysed data makes the snapshot stale
            cache.store_analysis(ids[1], "m2", np.eye(12)[0], np.eye(4)[0], np.full(128, 7.0))
            cache.update_tags(ids[2], {"title": "Renamed", "genres": []})
        fresh = cache.load_arrays()
        assert fresh.embeddings[1].tolist() == [7.0] * 128 and fresh.titles[2] == "Renamed"
        cache.set_like(ids[3], -1)  # likes are read live, the snapshot stays valid
        assert cache.load_arrays().liked.tolist() == [0, 0, 0, -1]
