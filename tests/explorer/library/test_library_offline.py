"""Issue 11, data loss: an unmounted, empty or unreadable library folder never deletes tracks, analysis or likes.

Reproduced on a real tmpfs mount (a stand-in folder swap where mounting is not allowed): index, like, unmount,
index again (tracks go offline, nothing removed), mount again (everything back, likes intact). Only an explicit
prune, or a file really gone from a readable folder, removes tracks, and their likes come back by content.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer.analysis.display import index_summary_lines
from explorer.cli.main import main as qfx
from explorer.library.cache import LibraryCache
from explorer.library.indexer import index_library
from explorer.library.offline import (
    FOLDER_ABSENT,
    FOLDER_EMPTY,
    judge_missing,
    prune_offline,
)
from tests.library_helpers import ROOT, Drive, can_mount, make_model


@pytest.fixture(scope="module")
def mountable(tmp_path_factory: pytest.TempPathFactory) -> bool:
    return can_mount(tmp_path_factory.mktemp("probe") / "m")


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


def _like(cache: LibraryCache, name: str, value: int = 1) -> int:
    tid = next(
        int(i) for i, p in cache.con.execute("SELECT id, path FROM tracks") if os.fsdecode(bytes(p)).endswith(name)
    )
    cache.set_like(tid, value)
    return tid


@pytest.mark.parametrize("use_mount", [True, False], ids=["tmpfs", "folder-swap"])
def test_unmounted_library_goes_offline_and_comes_back(
    tmp_path: Path, demo_files: list[Path], model: Path, mountable: bool, use_mount: bool, capsys: pytest.CaptureFixture
) -> None:
    if use_mount and not mountable:
        pytest.skip("mounting is not allowed here (the folder-swap case covers the same logic)")
    files = demo_files[:3]
    drive = Drive(tmp_path / "music", mount=use_mount)
    cache_dir = tmp_path / "cache"
    try:
        drive.plug(files)
        assert qfx(["index", str(drive.path), "--cache", str(cache_dir), "--model", str(model), "--quiet"]) == 0
        with LibraryCache.open(drive.path, cache_dir) as cache:
            liked = _like(cache, files[0].name)
        capsys.readouterr()

        drive.unplug()  # the mount point stays, empty
        assert qfx(["index", str(drive.path), "--cache", str(cache_dir), "--model", str(model), "--quiet"]) == 0
        out = capsys.readouterr().out
        assert "0 removed" in out and "3 track(s) went offline" in out and FOLDER_EMPTY in out
        with LibraryCache.open(drive.path, cache_dir) as cache:
            assert cache.counts()["offline"] == 3 and cache.counts()["analysed"] == 3
            assert len(cache.load_arrays()) == 0  # hidden from the map
            assert [Path(p).name for p, _, _ in cache.offline_tracks()] == sorted(f.name for f in files)
            assert cache.likes() == {liked: 1}

        drive.plug(files)
        assert qfx(["index", str(drive.path), "--cache", str(cache_dir), "--model", str(model), "--quiet"]) == 0
        out = capsys.readouterr().out
        assert "0 analysed" in out and "3 back" in out
        with LibraryCache.open(drive.path, cache_dir) as cache:
            arrays = cache.load_arrays()
            assert len(arrays) == 3 and cache.counts()["offline"] == 0
            assert cache.likes() == {liked: 1} and int(arrays.liked.sum()) == 1
    finally:
        drive.cleanup()


def test_prune_and_real_deletion_keep_likes_by_content(tmp_path: Path, demo_files: list[Path], model: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "album").mkdir(parents=True)
    for f in demo_files[:2]:
        shutil.copy2(f, lib / "album" / f.name)
    shutil.copy2(demo_files[2], lib / demo_files[2].name)
    with LibraryCache.open(lib, tmp_path / "cache") as cache:
        index_library(lib, cache, workers=1, model=model)
        album_like = _like(cache, demo_files[0].name, 1)
        root_like = _like(cache, demo_files[2].name, -1)

        # The album folder disappears (absent, not deleted file by file): offline, kept.
        shutil.move(lib / "album", tmp_path / "album-away")
        s = index_library(lib, cache, workers=1, model=model)
        assert (s.removed, len(s.went_offline)) == (0, 2) and {w for _, w in s.went_offline} == {FOLDER_ABSENT}
        assert any("went offline" in line for line in index_summary_lines(s))

        # Only an explicit prune removes offline tracks; the like is kept by content fingerprint.
        assert prune_offline(cache) == 2
        assert cache.counts().get("done") == 1 and album_like not in cache.likes()
        assert cache.con.execute("SELECT COUNT(*) FROM kept_likes").fetchone()[0] == 1

        # A file really gone from its readable, non-empty folder is removed (its like kept too).
        (lib / "other.txt").write_text("keeps the folder non-empty")
        os.unlink(lib / demo_files[2].name)
        s = index_library(lib, cache, workers=1, model=model)
        assert s.removed == 1 and not s.went_offline and root_like not in cache.likes()

        # The files come back (under new names): analysed again, and both likes return by content.
        shutil.move(tmp_path / "album-away", lib / "restored")
        shutil.copy2(demo_files[2], lib / "renamed.ogg")
        s = index_library(lib, cache, workers=1, model=model)
        assert (
            s.added == 3
            and s.restored_likes == 2
            and any("like(s) restored" in line for line in index_summary_lines(s))
        )
        arrays = cache.load_arrays()
        liked = {Path(p).name: int(v) for p, v in zip(arrays.paths, arrays.liked) if v}
        assert liked == {demo_files[0].name: 1, "renamed.ogg": -1}


def test_prune_command_lists_then_removes(
    tmp_path: Path, demo_files: list[Path], model: Path, capsys: pytest.CaptureFixture
) -> None:
    lib = tmp_path / "lib"
    (lib / "a").mkdir(parents=True)
    shutil.copy2(demo_files[0], lib / "a" / demo_files[0].name)
    shutil.copy2(demo_files[1], lib / demo_files[1].name)
    cache_dir = tmp_path / "cache"
    with LibraryCache.open(lib, cache_dir) as cache:
        index_library(lib, cache, workers=1, model=model)
    shutil.rmtree(lib / "a")
    with LibraryCache.open(lib, cache_dir) as cache:
        index_library(lib, cache, workers=1, model=model)
    capsys.readouterr()
    assert qfx(["prune", str(lib), "--cache", str(cache_dir), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 offline track(s)" in out and "nothing removed" in out
    assert qfx(["prune", str(lib), "--cache", str(cache_dir)]) == 0
    assert "removed 1 offline track(s)" in capsys.readouterr().out
    with LibraryCache.open(lib, cache_dir) as cache:
        assert cache.counts()["offline"] == 0 and cache.counts()["done"] == 1


def test_judge_missing_on_real_folders(tmp_path: Path) -> None:
    from explorer.library.cache import KnownTrack

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.mp3").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "present").mkdir()
    (tmp_path / "present" / "still.mp3").write_bytes(b"x")

    def known(path: Path, i: int) -> KnownTrack:
        return KnownTrack(i, os.fsencode(path), 1, 1, b"f" * 16, "done", "1", "m")

    tracks = [
        known(tmp_path / "full" / "gone.mp3", 1),
        known(tmp_path / "empty" / "a.mp3", 2),
        known(tmp_path / "absent" / "b.mp3", 3),
        known(tmp_path / "present" / "still.mp3", 4),
    ]
    verdict = judge_missing(tracks)
    assert [k.id for k in verdict.gone] == [1]
    assert {k.id: why for k, why in verdict.offline} == {
        2: FOLDER_EMPTY,
        3: FOLDER_ABSENT,
        4: "file present but unreadable",
    }


def test_unreadable_folder_goes_offline(tmp_path: Path, demo_files: list[Path], model: Path) -> None:
    """chmod 000 on a subfolder, indexed by a process without the capability to bypass permissions (root has it)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to drop the permission-bypass capability")
    lib = tmp_path / "lib"
    (lib / "locked").mkdir(parents=True)
    shutil.copy2(demo_files[0], lib / "locked" / demo_files[0].name)
    shutil.copy2(demo_files[1], lib / demo_files[1].name)
    cache_dir = tmp_path / "cache"
    with LibraryCache.open(lib, cache_dir) as cache:
        index_library(lib, cache, workers=1, model=model)
        liked = _like(cache, demo_files[0].name)
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library
        if __name__ == "__main__":
            with LibraryCache.open({str(lib)!r}, {str(cache_dir)!r}) as cache:
                s = index_library({str(lib)!r}, cache, workers=1, model={str(model)!r})
                print("removed", s.removed, "offline", len(s.went_offline), s.went_offline[0][1])
    """)
    )
    caps = "-dac_override,-dac_read_search"
    (lib / "locked").chmod(0)
    try:
        probe = subprocess.run(
            [
                setpriv,
                f"--bounding-set={caps}",
                f"--inh-caps={caps}",
                sys.executable,
                "-c",
                f"import os; os.listdir({str(lib / 'locked')!r})",
            ],
            capture_output=True,
        )
        if probe.returncode == 0:
            pytest.skip("permissions cannot be enforced on this machine")
        run = subprocess.run(
            [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", sys.executable, str(script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        (lib / "locked").chmod(0o755)
    assert run.returncode == 0, run.stderr
    assert "removed 0 offline 1 folder unreadable" in run.stdout
    with LibraryCache.open(lib, cache_dir) as cache:
        assert cache.likes() == {liked: 1} and cache.counts()["offline"] == 1
        s = index_library(lib, cache, workers=1, model=model)  # readable again: back, nothing re-analysed
        assert (s.back_online, s.analysed) == (1, 0) and len(cache.load_arrays()) == 2


def test_absent_root_of_an_indexed_library_goes_offline(
    tmp_path: Path, demo_files: list[Path], model: Path, capsys: pytest.CaptureFixture
) -> None:
    """A removable drive's mount point can vanish altogether: nothing is removed, nothing is created."""
    lib = tmp_path / "media" / "usb"
    lib.mkdir(parents=True)
    for f in demo_files[:2]:
        shutil.copy2(f, lib / f.name)
    cache_dir = tmp_path / "cache"
    assert qfx(["index", str(lib), "--cache", str(cache_dir), "--model", str(model), "--quiet"]) == 0
    lib.rename(tmp_path / "usb-away")
    capsys.readouterr()
    assert qfx(["index", str(lib), "--cache", str(cache_dir), "--model", str(model), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "0 removed" in out and "2 track(s) went offline" in out and FOLDER_ABSENT in out
    assert not lib.exists()
    (tmp_path / "usb-away").rename(lib)
    with LibraryCache.open(lib, cache_dir) as cache:
        s = index_library(lib, cache, workers=1, model=model)
        assert (s.back_online, s.analysed, s.removed) == (2, 0, 0) and len(cache.load_arrays()) == 2
