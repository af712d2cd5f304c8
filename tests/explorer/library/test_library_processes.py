"""Issue 11 with real processes: cancel (and Ctrl-C) commits every finished file, workers never outlive a
SIGKILLed indexer, and a second indexer on the same library waits or says who holds it (never analyses twice)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.progress import Cancelled, CancelToken, Progress
from explorer.library.cache import LibraryCache, cache_path
from explorer.library.indexer import index_library
from explorer.library.lock import LibraryBusy, library_lock
from tests.library_helpers import ROOT, make_model, session_processes


def _library(tmp_path: Path, demo_files: list[Path], copies: int = 1) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for c in range(copies):
        for f in demo_files:
            shutil.copy2(f, lib / f"{c}_{f.name}")
    return lib


def _done(cache_dir: Path, lib: Path) -> int:
    con = sqlite3.connect(cache_path(lib, cache_dir))
    try:
        return con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'done'").fetchone()[0]
    finally:
        con.close()


def test_cancel_commits_every_finished_file(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = _library(tmp_path, demo_files[:8])
    model = make_model(tmp_path / "model")
    token = CancelToken()
    finished: list[int] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "analysing" and p.done >= 3 and not finished:
            finished.append(p.done)
            token.cancel()

    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        with pytest.raises(Cancelled):  # one batch of 32 would hold all 8: before, none of them was saved
            index_library(lib, cache, workers=2, model=model, cancel=token, progress=on_progress)
        assert cache.counts()["done"] >= finished[0] >= 3
        assert cache.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_ctrl_c_saves_finished_files_and_leaves_no_process(tmp_path: Path, demo_files: list[Path]) -> None:
    # 60 files: the run is still going when Ctrl-C comes (at ~0.12 CPU s a file, 40 left only ~2 s of margin)
    lib = _library(tmp_path, demo_files, copies=3)
    cache_dir = tmp_path / "cache"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "explorer.cli.main",
            "index",
            str(lib),
            "--cache",
            str(cache_dir),
            "--workers",
            "2",
            "--model",
            str(make_model(tmp_path / "model")),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    seen = 0
    buffer = b""
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and seen < 4:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            counts = [int(m) for m in re.findall(rb"analysing:[^\r\n]*?(\d+)/60", buffer)]
            seen = max(counts or [0])
        assert seen >= 4, buffer[-2000:]
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C: the whole process group
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, rest[-2000:]
    assert b"every finished file is saved" in rest
    assert _done(cache_dir, lib) >= seen
    time.sleep(1.0)
    assert session_processes(proc.pid) == []


def test_kill_9_of_the_indexer_leaves_no_child(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = _library(tmp_path, demo_files, copies=2)
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library
        if __name__ == "__main__":
            cache = LibraryCache.open({str(lib)!r}, {str(tmp_path / "cache")!r})
            index_library({str(lib)!r}, cache, workers=2, model=False)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # indexer + resource tracker + forkserver + 2 workers
            if len(session_processes(proc.pid)) >= 5:
                break
            time.sleep(0.2)
        assert len(session_processes(proc.pid)) >= 5, session_processes(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # only the main process
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and session_processes(proc.pid):
            time.sleep(0.2)
        survivors = session_processes(proc.pid)
    finally:
        for pid, _ in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
    assert survivors == []


def test_second_indexer_waits_or_says_who_holds_the_library(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = _library(tmp_path, demo_files[:6])
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "explorer.cli.main",
        "index",
        str(lib),
        "--cache",
        str(cache_dir),
        "--workers",
        "1",
        "--model",
        str(make_model(tmp_path / "model")),
        "--quiet",
    ]
    # One file of the first run hangs until its 20 s time limit: the first run surely holds the library meanwhile.
    slow = {**env, "QFX_TEST_HANG_PATTERN": demo_files[0].name, "QFX_FILE_TIME_LIMIT": "20"}
    first = subprocess.Popen(cmd, cwd=ROOT, env=slow, stdout=subprocess.PIPE, text=True, start_new_session=True)
    lock = cache_path(lib, cache_dir).with_name(cache_path(lib, cache_dir).name + ".lock")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.05)
    refused = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    waited = subprocess.run(cmd + ["--wait"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    first_out = first.communicate(timeout=400)[0]
    assert refused.returncode == 1 and f"pid {first.pid}" in refused.stderr
    assert "already working on this library" in refused.stderr
    assert first.returncode == 0 and first_out.startswith("5 analysed") and "time limit" in first_out
    # The waiting run starts after the first: it retries only the timed-out file (transient), nothing twice.
    assert waited.returncode == 0 and waited.stdout.startswith("1 analysed") and "1 retried" in waited.stdout
    assert "5 unchanged" in waited.stdout


def test_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "library-x.sqlite"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from pathlib import Path
        from explorer.library.lock import library_lock
        with library_lock(Path({str(db)!r})):
            print("held", flush=True)
            time.sleep(600)
    """),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LibraryBusy, match=f"pid {holder.pid}"):
            with library_lock(db, wait=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    with library_lock(db, wait=5):  # SIGKILL dropped the lock: no stale lock file blocks anyone
        pass
