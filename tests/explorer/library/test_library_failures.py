"""Issue 11: failures carry a kind and a retry policy; a per-file time limit; non-regular files never block.

- A folder renamed during a run fails its files with "not found": transient, retried (and analysed) next run.
- A model that fails is reported as a model error (features kept), not as a decoding error, and runs again.
- A file stuck in its decoder (in Python, or in C with signals blocked) is given up after its time limit.
- A FIFO in place of a file (after the scan) is never opened: planning and workers return at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.progress import Progress
from explorer.analysis.display import index_summary_lines
from explorer.library.cache import LibraryCache
from explorer.library.failures import NOT_REGULAR_REASON, PERMANENT, TRANSIENT
from explorer.library.indexer import index_library
from explorer.library.plan import plan_run
from explorer.library.scanner import scan_audio_files
from explorer.library.worker import extract
from tests.library_helpers import ROOT, make_model


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


def test_folder_renamed_mid_run_is_retried_next_run(tmp_path: Path, demo_files: list[Path], model: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    for f in demo_files[:2]:
        shutil.copy2(f, lib / "sub" / f.name)
    shutil.copy2(demo_files[2], lib / demo_files[2].name)
    renamed: list[bool] = []

    def rename_after_planning(p: Progress) -> None:
        if p.total and not renamed:  # planned, no file opened yet
            (lib / "sub").rename(tmp_path / "sub-away")
            renamed.append(True)

    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        s = index_library(lib, cache, workers=1, model=model, progress=rename_after_planning)
        assert renamed and s.analysed == 1 and len(s.failed) == 2 and s.failed_kinds == {TRANSIENT: 2}
        assert {r["error_kind"] for r in map(cache.track, range(1, 4)) if r["status"] == "failed"} == {TRANSIENT}
        (tmp_path / "sub-away").rename(lib / "sub")
        s = index_library(lib, cache, workers=1, model=model)
        assert (s.retried, s.analysed, s.failed) == (2, 2, [])
        assert len(cache.load_arrays()) == 3


class FailingModel:
    """An emotion model whose every prediction fails (like a checkpoint the model code cannot run)."""

    version = "broken-model"
    uses_muq = False

    def predict(self, **kwargs: object) -> object:
        raise RuntimeError("the model cannot run on this input")


def test_model_errors_are_reported_as_model_errors_and_rerun(
    tmp_path: Path, demo_files: list[Path], model: Path
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files[:2]:
        shutil.copy2(f, lib / f.name)
    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        s = index_library(lib, cache, workers=1, model=FailingModel())
        assert s.failed == [] and len(s.model_errors) == 2 and "cannot run" in s.model_errors[0][1]
        text = "\n".join(index_summary_lines(s))
        assert "model errors: the emotion model failed on 2" in text and "while decoding" not in text
        rows = [cache.track(i) for i in (1, 2)]
        assert all(r["status"] == "done" and r["error_kind"] == "model" for r in rows)  # features kept
        assert all(r["error"].startswith("model error:") for r in rows)
        s = index_library(lib, cache, workers=1, model=model)  # a working model: both analysed now
        assert s.failed == [] and s.model_errors == [] and len(cache.load_arrays()) == 2


def test_stuck_files_hit_the_time_limit(tmp_path: Path, demo_files: list[Path]) -> None:
    """Run in a fresh process: the test hooks reach the workers through the forkserver's environment."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy2(demo_files[0], lib / "a_hang.ogg")  # stuck in Python code: interrupted by the alarm
    shutil.copy2(demo_files[1], lib / "b_stuck.ogg")  # stuck with signals blocked: the worker kills itself
    shutil.copy2(demo_files[2], lib / demo_files[2].name)
    out = tmp_path / "out.json"
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, time
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library
        if __name__ == "__main__":
            with LibraryCache.open({str(lib)!r}, {str(tmp_path / "cache")!r}) as cache:
                t = time.monotonic()
                s = index_library({str(lib)!r}, cache, workers=2, model=False, time_limit=20)
                kinds = dict(cache.con.execute("SELECT path, error_kind FROM tracks WHERE status = 'failed'"))
                json.dump({{"failed": s.failed, "analysed": s.analysed, "seconds": time.monotonic() - t,
                           "kinds": sorted(kinds.values())}}, open({str(out)!r}, "w"))
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QFX_TEST_HANG_PATTERN": "_hang", "QFX_TEST_STUCK_PATTERN": "_stuck"}
    subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=True, timeout=300)
    result = json.loads(out.read_text())
    reasons = {Path(p).name: r for p, r in result["failed"]}
    assert result["analysed"] == 1 and set(reasons) == {"a_hang.ogg", "b_stuck.ogg"}
    assert reasons["a_hang.ogg"].startswith("time limit") and reasons["b_stuck.ogg"].startswith("time limit")
    assert result["kinds"] == [TRANSIENT, TRANSIENT] and result["seconds"] < 120


def test_fifo_in_place_of_a_file_never_blocks(tmp_path: Path, demo_files: list[Path], model: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files[:2]:
        shutil.copy2(f, lib / f.name)
    os.mkfifo(lib / "pipe.mp3")  # present at scan time: skipped
    assert sorted(p.name for p in scan_audio_files(lib)) == sorted(f.name for f in demo_files[:2])
    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        index_library(lib, cache, workers=1, model=model)
        files = list(scan_audio_files(lib))
        victim = lib / demo_files[0].name
        victim.unlink()
        os.mkfifo(victim)  # replaced by a FIFO after the scan
        result: list[object] = []
        thread = threading.Thread(
            target=lambda: result.append(
                plan_run(cache, files, extractor_version="1", model_version=None, need_muq=False)
            ),
            daemon=True,
        )
        thread.start()
        thread.join(30)
        assert not thread.is_alive(), "planning blocked on a FIFO"
        plan = result[0]
        assert plan.removed == 0 and [w for _, w in plan.went_offline] == ["file present but unreadable"]
    started = time.monotonic()
    res = extract(1, os.fsencode(victim), False)  # a worker handed the FIFO returns at once
    assert time.monotonic() - started < 10
    assert (res.error, res.error_kind) == (NOT_REGULAR_REASON, PERMANENT)
