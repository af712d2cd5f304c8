"""index_library on (a copy of) the demo library: incremental runs, moves, failures, crashes, kill + resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from core.features.genre import GENRES
from core.progress import Cancelled, CancelToken, Progress
from explorer.cli.main import main as qfx
from explorer.library.cache import LibraryCache
from explorer.library.indexer import CRASH_REASON, index_library
from tests.library_helpers import make_model

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


@pytest.fixture()
def library(tmp_path: Path, demo_files: list[Path]) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files:
        shutil.copy2(f, lib / f.name)
    return lib


def _done_ids(cache: LibraryCache) -> dict[str, int]:
    return {
        os.path.basename(os.fsdecode(bytes(p))): int(i)
        for i, p in cache.con.execute("SELECT id, path FROM tracks WHERE status='done'")
    }


def test_incremental_lifecycle(library: Path, tmp_path: Path) -> None:
    model = make_model(tmp_path / "model")
    cache_dir = tmp_path / "cache"
    # First run through the command line.
    rc = qfx(
        [
            "index",
            str(library),
            "--cache",
            str(cache_dir),
            "--workers",
            "2",
            "--model",
            str(model),
            "--quiet",
            "--keep-mels",
        ]
    )  # the training setting: a new model version then re-runs without decoding
    assert rc == 0
    cache = LibraryCache.open(library, cache_dir)
    a = cache.load_arrays()
    assert len(a) == 20 and a.tag_scores.shape == (20, 12) and a.embeddings.shape == (20, 128)
    assert a.descriptors.shape[0] == 20 and a.genres.shape == (20, len(GENRES)) and a.muq is None
    assert np.isfinite(a.embeddings).all() and np.allclose(a.tag_scores.sum(1), 1, atol=1e-4)
    assert all(Path(p).exists() for p in a.paths) and all(t for t in a.titles)
    assert np.all((a.durations > 25) & (a.durations < 35))
    ids = _done_ids(cache)

    # Nothing changed: nothing re-analysed.
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.added, s.unchanged, s.failed) == (0, 0, 20, [])

    # mtime-only touch: fingerprint says same content, so no re-analysis.
    os.utime(library / "wesnoth_sad.ogg", (time.time() + 10, time.time() + 10))
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.updated, s.unchanged) == (0, 0, 20)

    # Content change: re-analysed under the same id, new tags.
    shutil.copy(library / "wesnoth_knolls.opus", library / "warzone2100_legacy_track4.opus")
    os.utime(library / "warzone2100_legacy_track4.opus", (time.time() + 20, time.time() + 20))
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.updated, s.unchanged) == (1, 1, 19)
    changed = cache.track(ids["warzone2100_legacy_track4.opus"])
    assert changed["status"] == "done" and changed["title"] == cache.track(ids["wesnoth_knolls.opus"])["title"]

    # Delete one, move one (with a like): removed, moved without re-analysis, like kept.
    cache.set_like(ids["wesnoth_frantic.mp3"], 1)
    (library / "wesnoth_suspense.mp3").unlink()
    (library / "sub").mkdir()
    (library / "wesnoth_frantic.mp3").rename(library / "sub" / "frantic renamed.mp3")
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.removed, s.moved) == (0, 1, 1)
    moved = cache.track(ids["wesnoth_frantic.mp3"])
    assert moved["path"].endswith("sub/frantic renamed.mp3") and moved["liked"] == 1
    a = cache.load_arrays()
    assert len(a) == 19 and a.liked.sum() == 1

    # A corrupt file: recorded with its reason, not fatal, not retried until it changes.
    (library / "broken.mp3").write_bytes(b"\x00" * 5000)
    s = index_library(library, cache, workers=2, model=model)
    assert s.analysed == 0 and len(s.failed) == 1 and s.failed[0][0].endswith("broken.mp3") and s.failed[0][1]
    assert cache.failures()[0][1] == s.failed[0][1]
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.failed, s.unchanged) == (0, [], 20)
    shutil.copy(library / "wesnoth_sad.ogg", library / "broken.mp3")  # fixed: decodes now (content sniffed)
    s = index_library(library, cache, workers=2, model=model)
    assert (s.analysed, s.updated, s.failed) == (1, 1, [])
    assert len(cache.load_arrays()) == 20

    # A file name that is not valid UTF-8 is decoded (through a temporary link) and its path kept exactly.
    if sys.platform == "linux":
        raw = os.fsencode(str(library)) + b"/Caf\xe9 - Tune.ogg"
        shutil.copy(library / "wesnoth_sad.ogg", os.fsdecode(raw))
        os.utime(raw, (1e9, 1e9))  # differs from the original's stat; same content is fine (not a move)
        s = index_library(library, cache, workers=2, model=model)
        assert (s.analysed, s.added, s.failed) == (1, 1, [])
        a = cache.load_arrays()
        assert os.fsdecode(raw) in a.paths and len(a) == 21
        (library / "wesnoth_sad.ogg").rename(library / "sad.ogg.bak")  # keep the count below at 20
        (library / "sad.ogg.bak").unlink()
        s = index_library(library, cache, workers=2, model=model)
        assert (s.removed, s.analysed) == (1, 0)

    # A new model version re-runs only the model, from stored features.
    before = cache.load_arrays()
    new_model = make_model(tmp_path / "model2", seed=5)
    seen: list[Progress] = []
    s = index_library(library, cache, workers=2, model=new_model, progress=lambda p: seen.append(p))
    assert (s.analysed, s.reanalysed) == (0, 20)
    after = cache.load_arrays()
    assert not np.allclose(before.embeddings, after.embeddings)
    np.testing.assert_array_equal(before.descriptors, after.descriptors)
    assert seen and seen[-1].done == seen[-1].total == 20
    versions = {v for (v,) in cache.con.execute("SELECT DISTINCT model_version FROM analysis")}
    assert versions == {s.model_version}

    # The small default cache (mels dropped in place, likes kept): a new model version decodes the files again.
    s = index_library(library, cache, workers=2, model=new_model, keep_mels=False)
    assert s.analysed == 0 and any("dropped the stored mels of 20" in n for n in s.notices)
    assert cache.con.execute("SELECT COUNT(*) FROM mels").fetchone()[0] == 0 and cache.likes()
    s = index_library(library, cache, workers=2, model=make_model(tmp_path / "model3", seed=7))
    assert (s.analysed, s.reanalysed) == (20, 0) and len(cache.load_arrays()) == 20
    cache.close()


def _keep(library: Path, n: int) -> None:
    for f in sorted(library.iterdir())[n:]:
        f.unlink()


def test_cancel_stops_quickly_and_keeps_the_cache_consistent(library: Path, tmp_path: Path) -> None:
    _keep(library, 8)
    model = make_model(tmp_path / "model")
    cache = LibraryCache.open(library, tmp_path / "cache")
    token = CancelToken()
    stamp: list[float] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "analysing" and p.done >= 1 and not stamp:
            stamp.append(time.monotonic())
            token.cancel()

    with pytest.raises(Cancelled):
        index_library(library, cache, workers=2, model=model, progress=on_progress, cancel=token, batch_size=4)
    assert stamp and time.monotonic() - stamp[0] < 5.0  # generous: CI machines are slow
    assert cache.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    s = index_library(library, cache, workers=2, model=model)  # the next run completes the job
    assert s.analysed + s.unchanged == 8 and len(cache.load_arrays()) == 8
    cache.close()


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run_index.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_kill_mid_run_then_resume(library: Path, tmp_path: Path) -> None:
    _keep(library, 12)
    model = make_model(tmp_path / "model")
    cache_dir = tmp_path / "cache"
    script = _script(
        tmp_path,
        f"""
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library
        if __name__ == "__main__":  # worker processes re-import the main module
            cache = LibraryCache.open({str(library)!r}, {str(cache_dir)!r})
            index_library({str(library)!r}, cache, workers=1, model={str(model)!r}, batch_size=3)
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    cache = LibraryCache.open(library, cache_dir)
    done_at_kill = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done_at_kill = cache.con.execute("SELECT COUNT(*) FROM tracks WHERE status='done'").fetchone()[0]
            except sqlite3.OperationalError:
                done_at_kill = 0  # schema not created yet
            if done_at_kill >= 3:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the indexer and its workers, mid-batch
        proc.wait()
    assert 3 <= done_at_kill < 12, "the run finished before it could be killed"
    assert cache.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = cache.counts()
    assert counts.get("pending", 0) > 0 and counts["done"] == counts["analysed"]  # batches are all-or-nothing
    s = index_library(library, cache, workers=2, model=model)
    assert s.resumed == counts["pending"] and s.analysed == counts["pending"] and s.added == 0
    assert s.unchanged == counts["done"]
    assert cache.counts().get("pending", 0) == 0 and len(cache.load_arrays()) == 12
    cache.close()


def test_worker_crash_costs_one_file(library: Path, tmp_path: Path) -> None:
    _keep(library, 6)
    model = make_model(tmp_path / "model")
    out = tmp_path / "summary.json"
    script = _script(
        tmp_path,
        f"""
        import json
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library
        if __name__ == "__main__":
            cache = LibraryCache.open({str(library)!r}, {str(tmp_path / "cache")!r})
            s = index_library({str(library)!r}, cache, workers=2, model={str(model)!r})
            rows = len(cache.load_arrays())
            json.dump({{"analysed": s.analysed, "failed": s.failed, "rows": rows}}, open({str(out)!r}, "w"))
    """,
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "QFX_TEST_CRASH_PATTERN": "legacy_track4"}
    subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["analysed"] == 5 and result["rows"] == 5
    assert [(Path(p).name, r) for p, r in result["failed"]] == [("warzone2100_legacy_track4.opus", CRASH_REASON)]
