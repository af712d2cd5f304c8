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
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    res = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "QuadFusion Explorer"],
        env=dict(os.environ, DISPLAY=display),
        capture_output=True,
        text=True,
    )
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


class Sink:
    """The ALSA file sink's growing output: what was heard since a mark."""

    def __init__(self, raw: Path) -> None:
        self.raw = raw

    def mark(self) -> int:
        return self.raw.stat().st_size if self.raw.exists() else 0

    def wait_sound(self, since: int, seconds: float = 1.5, timeout: float = 30) -> np.ndarray:
        """`seconds` of mono audio written after byte `since`, from its first audible sample (the output runs
        silent while the decoder fills its buffer, longer on a loaded machine)."""
        deadline = time.monotonic() + timeout
        tmp = self.raw.with_suffix(".part")
        while True:
            if self.mark() < since:  # a new output stream (another sample rate) started the file again
                since = 0
            data = self.raw.read_bytes()[since - since % 4 :] if self.raw.exists() else b""
            tmp.write_bytes(data)
            mono = alsa_sink.read_sink_mono(tmp)
            loud = np.flatnonzero(np.abs(mono) > 1e-3)
            if len(loud) and len(mono) - loud[0] >= seconds * alsa_sink.RATE:
                return mono[loud[0] :]
            assert time.monotonic() < deadline, f"no sound reached the ALSA sink ({len(mono)} samples, silent)"
            time.sleep(0.2)


def _tail(raw: Path, start: int, end: int) -> Path:
    """Bytes start..end of the sink file as a file of their own (whole frames)."""
    part = raw.with_suffix(".slice")
    data = raw.read_bytes()[start - start % 4 : end - end % 4] if raw.exists() else b""
    part.write_bytes(data)
    return part


def _which_track(mono: np.ndarray, arrays, start_of=None) -> tuple[str, dict]:
    """The library path whose excerpt (0.4 s from the analysed start, or `start_of(path)`) best matches `mono`."""
    from core.audio import load_audio

    def r_with(path: str) -> float:
        start = float(arrays.excerpt_starts[arrays.paths.index(path)]) if start_of is None else start_of(path)
        ref = load_audio(path, alsa_sink.RATE, start=start + 0.05, duration=0.4)
        return alsa_sink.best_correlation(mono, ref)

    scores = {p: r_with(p) for p in arrays.paths}
    return max(scores, key=scores.get), scores


def _assert_heard(mono: np.ndarray, arrays, row: int, what: str) -> None:
    # ALSA's plug resamples 44.1 kHz files with plain linear interpolation, so a resampled track matches its
    # reference less than perfectly (~0.85): ask for a clear match that beats every other track by a margin.
    assert np.sqrt(np.mean(mono**2)) > 1e-3, f"{what}: silence"
    best, scores = _which_track(mono, arrays)
    expected = scores[arrays.paths[row]]
    runner_up = max(v for p, v in scores.items() if p != arrays.paths[row])
    named = {Path(p).name: round(v, 3) for p, v in scores.items()}
    assert expected > 0.7 and expected > runner_up + 0.2, f"{what}: expected {Path(arrays.paths[row]).name}; {named}"


class Mpris:
    """gdbus calls on the app's private session bus."""

    def __init__(self, address: str) -> None:
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address)

    def _gdbus(self, *args: str) -> str:
        res = subprocess.run(
            [
                "gdbus",
                "call",
                "--session",
                "-d",
                "org.mpris.MediaPlayer2.quadfusion",
                "-o",
                "/org/mpris/MediaPlayer2",
                *args,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    def call(self, method: str, *args: str) -> str:
        return self._gdbus("-m", f"org.mpris.MediaPlayer2.Player.{method}", *args)

    def get(self, prop: str) -> str:
        return self._gdbus("-m", "org.freedesktop.DBus.Properties.Get", "org.mpris.MediaPlayer2.Player", prop)

    def wait_status(self, status: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while status not in self.get("PlaybackStatus"):
            assert time.monotonic() < deadline, f"never {status}: {self.get('PlaybackStatus')}"
            time.sleep(0.2)

    def ready(self) -> bool:
        res = subprocess.run(
            [
                "gdbus",
                "call",
                "--session",
                "-d",
                "org.freedesktop.DBus",
                "-o",
                "/org/freedesktop/DBus",
                "-m",
                "org.freedesktop.DBus.ListNames",
            ],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return "org.mpris.MediaPlayer2.quadfusion" in res.stdout


def _check_playback_paths(display: str, library: Path, cache: Path, raw: Path, bus: Mpris) -> None:
    """Defect 1 (replay) and MPRIS, by the sound that reaches the ALSA sink:
    Space plays the star selected at launch; after the track ended Space plays it again; MPRIS PlayPause pauses and
    resumes, Next plays another track, Metadata names the playing track."""
    from explorer.analysis import TrackFilter, build_map_scene
    from explorer.library.cache import LibraryCache

    with LibraryCache.open(library, cache) as c:
        arrays = c.load_arrays(muq=False)
    star = int(build_map_scene(arrays, TrackFilter(), k="auto").representatives[0])
    env = dict(os.environ, DISPLAY=display)
    window = _window_ids(display)[0]
    subprocess.run(["xdotool", "windowfocus", window], env=env, check=True)  # no window manager: focus by hand
    time.sleep(0.3)
    sink = Sink(raw)

    # The file sink is not paced like a sound card: a track plays out as fast as it decodes (seconds). So pause
    # right after Space (a paused player holds its 2 s buffer, the track cannot end), and match sounds at the end:
    # comparing against every track takes longer than that.
    before = sink.mark()
    subprocess.run(["xdotool", "key", "space"], env=env, check=True)
    bus.call("PlayPause")
    bus.wait_status("Paused")
    paused = sink.mark()
    time.sleep(0.2)
    mark = sink.mark()
    bus.call("PlayPause")  # resumes the same track
    silent = alsa_sink.read_sink_mono(_tail(sink.raw, paused, mark))
    assert not len(silent) or np.abs(silent).max() < 1e-3, "sound while paused"
    resumed = sink.wait_sound(mark, seconds=0.5)
    # the track as heard from Space on, without the paused gap: the unpaced sink may play anything from nothing to a
    # second or more of it before PlayPause lands, so the part before the pause counts too
    pre = alsa_sink.read_sink_mono(_tail(sink.raw, before, paused))
    loud = np.flatnonzero(np.abs(pre) > 1e-3)
    first = np.concatenate([pre[loud[0] : loud[-1] + 1], resumed]) if len(loud) else resumed
    meta = bus.get("Metadata")
    title = arrays.titles[star] or Path(arrays.paths[star]).stem
    assert title in meta and f"/org/quadfusion/track/{int(arrays.track_ids[star])}" in meta, meta

    # to the end (MPRIS Seek, microseconds, if it is still playing): with "stop after each track" nothing follows
    bus.call("Seek", str(int(float(arrays.durations[star]) * 1e6)))
    bus.wait_status("Stopped")
    time.sleep(0.5)
    mark = sink.mark()
    subprocess.run(["xdotool", "key", "space"], env=env, check=True)
    replay = sink.wait_sound(mark)

    mark = sink.mark()
    bus.call("Next")
    star_url = f"/org/quadfusion/track/{int(arrays.track_ids[star])}'"
    deadline = time.monotonic() + 20
    while star_url in (meta := bus.get("Metadata")):
        assert time.monotonic() < deadline, f"Next did not move on: {meta}"
        time.sleep(0.1)
    # Another sample rate opens a new output stream, which starts the sink file again: its writes are not paced, so
    # by the time the file is looked at it may have grown past the old mark, and reading from there would start
    # mid-track. Then the new track is what the file holds from its first byte.
    from explorer.playback import open_source

    next_path = next(p for p in arrays.paths if Path(p).as_uri() in meta)
    if open_source(next_path).samplerate != open_source(arrays.paths[star]).samplerate:
        time.sleep(1.5)
        mark = 0
    after_next = sink.wait_sound(mark)

    _assert_heard(first, arrays, star, "Space on the pre-selected star")
    _assert_heard(replay, arrays, star, "Space after the track ended (replay)")
    heard, _ = _which_track(after_next, arrays)
    row = arrays.paths.index(heard)
    assert row != star and f"/org/quadfusion/track/{int(arrays.track_ids[row])}" in meta, (Path(heard).name, meta)


def test_real_app_shows_the_map(xserver, tmp_path, indexed_demo):
    library, cache_dir, model_dir = indexed_demo
    cache = tmp_path / "cache"
    shutil.copytree(cache_dir, cache)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(
        DISPLAY=xserver,
        QFX_CACHE_DIR=str(cache),
        QFX_MODEL=str(model_dir),
        QFX_LOG_DIR=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        OMP_NUM_THREADS="1",
    )
    raw = tmp_path / "out.raw"
    if alsa_sink.AVAILABLE:  # sound goes to a file we can check
        env.update(alsa_sink.sink_env(tmp_path, raw))
    (tmp_path / "config" / "QuadFusion").mkdir(parents=True)
    (tmp_path / "config" / "QuadFusion" / "Explorer.conf").write_text("[playback]\nmode=stop\n")
    script = Path(sys.executable).with_name("qfx-explorer")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "explorer.app"]
    bus_file = tmp_path / "bus-address"
    if shutil.which("dbus-run-session"):  # a private session bus: MPRIS is tested without touching the user's
        quoted = " ".join(f"'{c}'" for c in [*cmd, str(library)])
        cmd = ["dbus-run-session", "--", "sh", "-c", f"echo $DBUS_SESSION_BUS_ADDRESS > '{bus_file}'; exec {quoted}"]
    else:
        cmd = [*cmd, str(library)]
    app = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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

        # the window icon is set (defect 11): _NET_WM_ICON holds the pixels
        wid = _window_ids(xserver)[0]
        prop = (
            subprocess.run(["xprop", "-display", xserver, "-id", wid, "_NET_WM_ICON"], capture_output=True, text=True)
            if shutil.which("xprop")
            else None
        )
        if prop is not None:
            assert "not found" not in prop.stdout and "=" in prop.stdout, prop.stdout[:200]
        if "ALSA_CONFIG_PATH" in env and bus_file.exists():
            bus = Mpris(bus_file.read_text().strip())
            deadline = time.monotonic() + 20
            while not bus.ready():
                assert time.monotonic() < deadline, "the MPRIS service never appeared on the session bus"
                time.sleep(0.3)
            _check_playback_paths(xserver, library, cache, raw, bus)
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(5)
