"""Player: streaming decode, pause/seek/volume/end-of-track with a hand-driven fake stream, and real output
through an ALSA file sink in a subprocess (PortAudio reads ALSA_CONFIG_PATH at init, so it must be fresh)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import alsa_sink
from explorer.playback import PlaybackError, Player

TRACK = "warzone2100_legacy_track9.ogg"  # 48 kHz stereo: the sink below needs no resampling for it
OTHER = "wesnoth_sad.ogg"


class FakeStream:
    """Stands in for sounddevice.OutputStream; the test pulls audio by calling pull()."""

    def __init__(self, *, samplerate, channels, dtype, callback, device):
        self.samplerate, self.channels, self.callback, self.device = samplerate, channels, callback, device
        self.started = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True

    def pull(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, self.channels), dtype=np.float32)
        self.callback(out, frames, None, None)
        return out


def _pull_until(stream: FakeStream, frames: int, timeout: float = 10.0) -> np.ndarray:
    """Pull `frames` of non-starved audio (waits for the decoder thread instead of collecting silence)."""
    got: list[np.ndarray] = []
    n = 0
    deadline = time.monotonic() + timeout
    player = stream.callback.__self__
    while n < frames and time.monotonic() < deadline:
        # pull a whole block only: a pull that finds the decoder behind (a loaded machine) is padded with silence
        # at its tail, which would shift everything after it
        if player._buffered < 1024 and not any(b is None for b in player._blocks):  # None: end-of-track marker
            time.sleep(0.005)
            continue
        block = stream.pull(1024)
        if np.any(block):
            got.append(block)
            n += len(block)
        else:
            time.sleep(0.01)
    return np.concatenate(got)[:frames] if got else np.zeros((0, 2), np.float32)


@pytest.fixture
def fake_player():
    streams: list[FakeStream] = []
    events: dict[str, list] = {"finished": [], "error": []}

    def factory(**kw):
        streams.append(FakeStream(**kw))
        return streams[-1]

    player = Player(
        stream_factory=factory,
        on_finished=lambda p: events["finished"].append(p),
        on_error=lambda p, m: events["error"].append((p, m)),
    )
    yield player, streams, events
    player.close()


def _reference(path: Path, start: float, seconds: float) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    a = int(start * rate)
    return data[a : a + int(seconds * rate)]


def test_plays_the_right_samples_from_the_start_offset(fake_player, demo_dir):
    player, streams, _ = fake_player
    player.play(demo_dir / TRACK, start=3.0)
    stream = streams[-1]
    assert stream.samplerate == 48000 and stream.channels == 2 and stream.started
    out = _pull_until(stream, 48000)
    ref = _reference(demo_dir / TRACK, 3.0, 1.0)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert player.position == pytest.approx(4.0, abs=0.05)


def test_pause_volume_and_seek(fake_player, demo_dir):
    player, streams, _ = fake_player
    player.play(demo_dir / TRACK, start=0.0)
    stream = streams[-1]
    _pull_until(stream, 4800)
    player.pause()
    assert not np.any(stream.pull(2048)) and player.is_paused
    pos = player.position
    player.resume()
    player.set_volume(0.5)
    player.seek(10.0)
    out = _pull_until(stream, 4800)
    ref = _reference(demo_dir / TRACK, 10.0, 0.1)
    np.testing.assert_allclose(out, 0.5 * ref, atol=1e-6)
    assert pos < 1.0 and player.position == pytest.approx(10.1, abs=0.05)


def test_preview_duration_signals_end_of_track(fake_player, demo_dir):
    player, streams, events = fake_player
    path = str(demo_dir / OTHER)
    player.play(path, start=5.0, duration=0.5)
    stream = streams[-1]
    out = _pull_until(stream, 22050, timeout=5.0)  # the preview is 0.5 s at 44.1 kHz
    assert not np.any(stream.pull(4096))  # and nothing after it
    last = int(np.flatnonzero(np.any(out != 0, axis=1))[-1]) + 1  # the final pull is padded with silence
    assert last == pytest.approx(0.5 * 44100, abs=64)
    deadline = time.monotonic() + 5
    while not events["finished"] and time.monotonic() < deadline:
        stream.pull(512)
        time.sleep(0.01)
    assert events["finished"] == [path] and not player.is_playing
    assert not stream.started  # the device idles between tracks
    player.play(path, start=1.0, duration=0.2)
    assert stream.started and len(streams) == 1  # same rate: the stream is restarted, not reopened


def test_mono_flac_is_duplicated_to_stereo(fake_player, demo_dir):
    player, streams, _ = fake_player
    player.play(demo_dir / "wesnoth_the_city_falls.flac", start=1.0)
    out = _pull_until(streams[-1], 1600)
    assert streams[-1].samplerate == 16000
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert np.abs(out).max() > 0


def test_compressed_formats_decode(fake_player, demo_dir):
    player, streams, events = fake_player
    for name in ("wesnoth_knolls.opus", "wesnoth_frantic.mp3", "wesnoth_nunc_dimittis.m4a"):
        player.play(demo_dir / name, start=2.0)
        out = _pull_until(streams[-1], 4096)
        assert len(out) == 4096 and np.abs(out).max() > 1e-3, name
    assert not events["error"]


def test_bad_input_raises_one_clear_error(fake_player, tmp_path):
    player, _, _ = fake_player
    with pytest.raises(PlaybackError):
        player.play(tmp_path / "missing.ogg")
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(PlaybackError):
        player.play(junk)


def test_device_open_failure_is_a_playback_error(demo_dir):
    def broken(**kw):
        raise OSError("no such device")

    with pytest.raises(PlaybackError, match="audio output"):
        Player(stream_factory=broken).play(demo_dir / TRACK)


PLAY_SCRIPT = """
import sys, threading
from explorer.playback import Player
done = threading.Event()
p = Player(on_finished=lambda path: done.set(), on_error=lambda path, msg: (print(msg), done.set()))
p.play(sys.argv[1], start=float(sys.argv[2]), duration=2.0)
ok = done.wait(20)
p.close()
sys.exit(0 if ok else 3)
"""


@pytest.mark.skipif(not alsa_sink.AVAILABLE, reason="ALSA not installed")
def test_real_output_through_alsa_file_sink(tmp_path, demo_dir):
    raw = tmp_path / "out.raw"
    env = dict(os.environ, **alsa_sink.sink_env(tmp_path, raw))
    track = demo_dir / TRACK
    res = subprocess.run(
        [sys.executable, "-c", PLAY_SCRIPT, str(track), "5.0"], env=env, capture_output=True, text=True, timeout=60
    )
    if "PortAudio" in res.stderr and res.returncode != 0 and "library not found" in res.stderr:
        pytest.skip("PortAudio library missing")
    assert res.returncode == 0, res.stdout + res.stderr
    mono = alsa_sink.read_sink_mono(raw)
    assert len(mono) >= int(1.9 * alsa_sink.RATE)
    assert np.sqrt(np.mean(mono**2)) > 0.01  # not silence
    # The null device has no clock, so the stream runs faster than real time and starves between decoded blocks
    # (0.5 s each, from the start position): compare 0.4 s from inside the first block, which stays contiguous.
    ref = _reference(track, 5.05, 0.4).mean(axis=1)
    other = _reference(demo_dir / "warzone2100_original_track1.ogg", 5.05, 0.4).mean(axis=1)
    r_right, r_wrong = alsa_sink.best_correlation(mono, ref), alsa_sink.best_correlation(mono, other)
    assert r_right > 0.95, (r_right, r_wrong)
    assert r_wrong < 0.5, (r_right, r_wrong)


def test_nonsense_positions_are_clamped(fake_player, demo_dir):
    player, streams, events = fake_player
    player.play(demo_dir / TRACK, start=float("nan"), duration=float("nan"))
    out = _pull_until(streams[-1], 4800)
    np.testing.assert_allclose(out, _reference(demo_dir / TRACK, 0.0, 0.1), atol=1e-6)
    player.seek(float("inf"))
    player.seek(1e9)  # past the end: clamps to just before it, then ends normally
    deadline = time.monotonic() + 5
    while not events["finished"] and time.monotonic() < deadline:
        streams[-1].pull(4096)
        time.sleep(0.005)
    assert events["finished"] and not events["error"]
