"""Shared by the playback tests: route ALSA's default device into a raw file so a test can check the sound that
really left the player (PortAudio reads ALSA_CONFIG_PATH at init, so the player must run in a fresh process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SYSTEM_CONF = Path("/usr/share/alsa/alsa.conf")
AVAILABLE = SYSTEM_CONF.exists()
RATE, CHANNELS = 48000, 2  # what the sink writes: S16_LE, interleaved; `plug` converts whatever the player opens

_CONF = """
<{system}>
pcm.!default {{
  type plug
  slave {{ pcm "qfxsink"; format S16_LE; rate {rate}; channels {channels} }}
}}
pcm.qfxsink {{ type file; slave.pcm "null"; file "{out}"; format "raw" }}
"""


def sink_env(tmp: Path, raw: Path) -> dict[str, str]:
    """Write an ALSA config whose default device writes raw PCM to `raw`; returns the environment entry to use it."""
    conf = tmp / "asound.conf"
    conf.write_text(_CONF.format(system=SYSTEM_CONF, rate=RATE, channels=CHANNELS, out=raw))
    return {"ALSA_CONFIG_PATH": str(conf)}


def read_sink_mono(raw: Path) -> np.ndarray:
    """The sink's output as mono float32 in [-1, 1); a trailing half frame (file still being written) is dropped."""
    pcm = np.frombuffer(raw.read_bytes(), dtype="<i2")
    frames = pcm[: len(pcm) // CHANNELS * CHANNELS].reshape(-1, CHANNELS).astype(np.float32) / 32768.0
    return frames.mean(axis=1)


def best_correlation(out: np.ndarray, ref: np.ndarray) -> float:
    """Pearson r of `ref` against the stretch of `out` where it matches best (normalised cross-correlation: a raw
    correlation peak would favour the loudest stretch, not the matching one)."""
    from scipy.signal import correlate

    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64) - np.mean(ref)
    n = len(ref)
    num = correlate(out, ref, mode="valid", method="fft")
    csum, csq = np.cumsum(np.r_[0.0, out]), np.cumsum(np.r_[0.0, out**2])
    win_sum, win_sq = csum[n:] - csum[:-n], csq[n:] - csq[:-n]
    var = np.maximum(win_sq - win_sum**2 / n, 1e-12)
    r = num / np.sqrt(var * np.sum(ref**2))
    return float(r.max())
