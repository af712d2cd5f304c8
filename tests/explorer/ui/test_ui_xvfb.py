"""The real `qfx-explorer` under Xvfb: it starts on a pre-indexed demo library, its window appears, and a
screenshot shows the map drawn in the subcategory colours. The screenshot is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import alsa_sink

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
ARTIFACTS = ROOT / "test-artifacts"
TOOLS = ("Xvfb", "xdotool", "import")
pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"),
]


@pytest.fixture
def xserver():
    """A private Xvfb on a display number it picks itself (-displayfd), so parallel runs never collide."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as fh:
            number = fh.readline().strip()
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _window_ids(display: str) -> list[str]:
    res = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "QuadFusion Explorer"],
                         env=dict(os.environ, DISPLAY=display), capture_output=True, text=True)
    return res.stdout.split()


def _read_png(path: Path) -> np.ndarray:
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"))
    except ImportError:  # Qt can read it too
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtGui import QImage
        from PySide6.QtWidgets import QApplication

        QApplication.instance() or QApplication([])
        img = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
        buf = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
        return buf[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def _pixels_near(rgb: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    from PySide6.QtGui import QColor

    from explorer.ui.map_items import _cluster_colour

    c: QColor = _cluster_colour(hex_colour)
    target = np.array([c.red(), c.green(), c.blue()])
    return int((np.abs(rgb.astype(int) - target).max(axis=2) < tol).sum())


def _check_right_arrow_plays_next_track(display: str, library: Path, cache: Path, raw: Path) -> None:
    """Right arrow plays the track after the selected one (the first representative) in map order: the sound
    that reaches the ALSA sink must be that track's excerpt."""

    from explorer.analysis import TrackFilter, build_map_scene
    from explorer.library.cache import LibraryCache

    with LibraryCache.open(library, cache) as c:
        arrays = c.load_arrays(muq=False)
    scene = build_map_scene(arrays, TrackFilter(), k="auto")
    order = [int(r) for r in scene.indices]
    row = order[(order.index(int(scene.representatives[0])) + 1) % len(order)]
    env = dict(os.environ, DISPLAY=display)
    window = _window_ids(display)[0]
    subprocess.run(["xdotool", "windowfocus", window], env=env, check=True)  # no window manager: focus by hand
    time.sleep(0.3)
    subprocess.run(["xdotool", "key", "Right"], env=env, check=True)
    deadline = time.monotonic() + 20
    while not (raw.exists() and raw.stat().st_size > alsa_sink.RATE * 4):
        assert time.monotonic() < deadline, "no sound reached the ALSA sink"
        time.sleep(0.25)
    time.sleep(1.0)
    mono = alsa_sink.read_sink_mono(raw)
    assert np.sqrt(np.mean(mono**2)) > 1e-3

    def r_with(path: str) -> float:
        """0.4 s from inside the first decoded block, at the sink's 48 kHz (ALSA's plug resamples other rates)."""
        from core.audio import load_audio

        start = float(arrays.excerpt_starts[arrays.paths.index(path)])
        ref = load_audio(path, alsa_sink.RATE, start=start + 0.05, duration=0.4)
        return alsa_sink.best_correlation(mono, ref)

    # ALSA's plug resamples 44.1 kHz files with plain linear interpolation, so a resampled track matches its
    # reference less than perfectly (~0.85): ask for a clear match that beats every other track by a margin.
    scores = {p: r_with(p) for p in arrays.paths}
    expected = scores[arrays.paths[row]]
    runner_up = max(v for p, v in scores.items() if p != arrays.paths[row])
    if not (expected > 0.7 and expected > runner_up + 0.2):
        log = (cache.parent / "explorer.log").read_text() if (cache.parent / "explorer.log").exists() else ""
        named = {Path(p).name: round(v, 3) for p, v in scores.items()}
        raise AssertionError(f"expected {Path(arrays.paths[row]).name}; correlations: {named}\n{log}")


def test_real_app_shows_the_map(xserver, tmp_path, indexed_demo):
    library, cache_dir, model_dir = indexed_demo
    cache = tmp_path / "cache"
    shutil.copytree(cache_dir, cache)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=xserver, QFX_CACHE_DIR=str(cache), QFX_MODEL=str(model_dir), QFX_LOG_DIR=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), OMP_NUM_THREADS="1")
    raw = tmp_path / "out.raw"
    if alsa_sink.AVAILABLE:  # sound goes to a file we can check
        env.update(alsa_sink.sink_env(tmp_path, raw))
    script = Path(sys.executable).with_name("qfx-explorer")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "explorer.app"]
    app = subprocess.Popen([*cmd, str(library)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _window_ids(xserver):
            assert app.poll() is None, app.stdout.read()
            assert time.monotonic() < deadline, "the window never appeared"
            time.sleep(0.5)
        time.sleep(4)  # first paint, plus the (no-op) index run on the pre-indexed cache
        assert app.poll() is None, app.stdout.read()
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "explorer-xvfb.png"
        subprocess.run(["import", "-display", xserver, "-window", "root", str(shot)], check=True, timeout=30)
        rgb = _read_png(shot)
        assert rgb.shape[:2] == (1000, 1600)
        assert rgb.std() > 10, "blank screenshot"
        from explorer.analysis.scene import PALETTE

        # the default (auto K) map has at least two subcategories: both colours must be on screen
        assert _pixels_near(rgb, PALETTE[0]) > 30 and _pixels_near(rgb, PALETTE[1]) > 30

        if "ALSA_CONFIG_PATH" in env:
            _check_right_arrow_plays_next_track(xserver, library, cache, raw)
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(5)
