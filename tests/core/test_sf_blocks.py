"""Stepping over a spot libsndfile cannot decode: a real demo file read through a handle that fails, as libsndfile
1.2.2 does on some Ogg Opus files, whenever a read touches one stretch (only a handle seeked past it reads on)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import core.sf_blocks as sf_blocks
from core.audio import load_audio
from core.sf_blocks import SkipReport, read_blocks

TRACK = "warzone2100_legacy_track4.opus"  # 30 s, 48 kHz
RATE = 48000
BAD = (int(9.0 * RATE), int(9.4 * RATE))  # the stretch no read may touch


_REAL = sf.SoundFile  # the fixture below swaps soundfile's class (core.audio and playback use the module's name)


class _FailsOnSpot(_REAL):
    """A real libsndfile handle whose reads fail when they touch BAD, like the Opus files that stop partway."""

    def read(self, frames=-1, *args, **kwargs):
        here = self.tell()
        end = self.frames if frames < 0 else here + frames
        if here < BAD[1] and end > BAD[0]:
            raise sf.LibsndfileError(0, prefix="Supported file format but file is malformed: ")
        return super().read(frames, *args, **kwargs)


@pytest.fixture
def spotted(monkeypatch, demo_dir):
    monkeypatch.setattr(sf_blocks.sf, "SoundFile", _FailsOnSpot)
    return str(demo_dir / TRACK)


def _plain(path: str) -> np.ndarray:
    with _REAL(path) as fh:
        assert fh.samplerate == RATE
        return fh.read(dtype="float32", always_2d=True)


def test_reads_on_past_the_spot_with_silence_there(spotted):
    ref = _plain(spotted)
    report = SkipReport()
    out = np.concatenate(list(read_blocks(spotted, 0, None, RATE // 2, report)))
    assert out.shape == ref.shape  # positions and duration stay true
    assert report.spots == 1 and 0.4 * RATE <= report.frames <= 1.0 * RATE
    gap = np.flatnonzero(~np.all(out == ref, axis=1))
    start, stop = int(gap[0]), int(gap[-1]) + 1
    assert start >= 8 * RATE and stop <= 10 * RATE  # only around the spot
    assert not out[start:stop].any()  # silence there
    np.testing.assert_array_equal(out[stop:], ref[stop:])  # and the real audio after it


def test_a_window_keeps_its_length_and_the_error_stays_when_nothing_reads(spotted, monkeypatch):
    ref = _plain(spotted)
    window = np.concatenate(list(read_blocks(spotted, 8 * RATE, 3 * RATE, RATE // 4)))
    assert len(window) == 3 * RATE
    np.testing.assert_array_equal(window[: RATE // 2], ref[8 * RATE : 8 * RATE + RATE // 2])
    monkeypatch.setattr(sf_blocks, "MAX_SKIP_SECONDS", 0.25)  # the spot is out of reach now
    with pytest.raises(sf.LibsndfileError, match="malformed"):
        list(read_blocks(spotted, 8 * RATE, 3 * RATE, RATE // 4))


def test_analysis_and_playback_both_step_over_it(spotted, monkeypatch):
    # Analysis reads Ogg Opus through libopus directly when it can (core.opus_decode); libsndfile, and this
    # stepping over, is its fallback for the files that reader leaves to it.
    monkeypatch.setattr("core.audio._opus_decode", lambda *args: None)
    mono = load_audio(spotted, RATE, start=5.0, duration=10.0)  # the window crosses the spot
    assert len(mono) == 10 * RATE and np.abs(mono[: 3 * RATE]).max() > 0.01
    from explorer.playback import open_source

    played = np.concatenate(list(open_source(spotted).blocks(0.0, None)))
    assert len(played) == len(_plain(spotted)) and np.abs(played[int(9.6 * RATE) :]).max() > 0.01
