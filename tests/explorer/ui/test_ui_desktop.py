"""Show in file manager: the freedesktop FileManager1 D-Bus call selects the file; without a file manager on the
bus the user gets a clear error naming the folder. Both on a private session bus (dbus-run-session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
pytestmark = pytest.mark.skipif(shutil.which("dbus-run-session") is None, reason="needs dbus-run-session")

SCRIPT = textwrap.dedent("""
    import os, subprocess, sys, time
    from PySide6.QtCore import QCoreApplication
    app = QCoreApplication([])
    from explorer.ui import desktop
    target, out, with_fm = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if with_fm:
        fm = subprocess.Popen([sys.executable, sys.argv[4], out], stdout=subprocess.PIPE, text=True)
        assert fm.stdout.readline().strip() == "ready"
    try:
        desktop.reveal_in_file_manager(target)
        print("OK")
    except desktop.DesktopError as exc:
        print("ERROR", exc)
    if with_fm:
        time.sleep(0.3)
        fm.terminate()
""")


def _run(tmp_path: Path, target: Path, with_fm: bool) -> tuple[str, list[dict], str]:
    out = tmp_path / "calls.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(
        [
            "dbus-run-session",
            "--",
            sys.executable,
            "-c",
            SCRIPT,
            str(target),
            str(out),
            "1" if with_fm else "0",
            str(TESTS / "fake_file_manager.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return res.stdout.strip(), calls, res.stderr[-2000:]


def test_show_in_file_manager_selects_the_file(tmp_path, demo_files):
    target = tmp_path / "my song.ogg"
    shutil.copy(demo_files[0], target)
    stdout, calls, stderr = _run(tmp_path, target, with_fm=True)
    assert stdout == "OK", (stdout, stderr)
    assert calls == [{"method": "ShowItems", "uris": [target.as_uri()]}]


def test_without_a_file_manager_the_error_says_where_the_file_is(tmp_path, demo_files):
    target = tmp_path / "song.ogg"
    shutil.copy(demo_files[0], target)
    stdout, calls, _ = _run(tmp_path, target, with_fm=False)
    assert stdout.startswith("ERROR") and "FileManager1" in stdout and str(tmp_path) in stdout
    assert calls == []
