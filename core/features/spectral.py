"""Shared, vectorised framing and STFT for the descriptor extractors (16 kHz mono float32).

Both descriptor families (`lowlevel`, `interpretive`) read the same `Analysis`, so one clip is framed and
transformed once. Two framings are used:

* long frames (2048 samples = 128 ms, hop 1024 = 64 ms): spectral shape, energy, peaks, chroma. At 16 kHz a
  bin is 7.8 Hz wide, fine enough for the Plomp-Levelt peak model and pitch classes above ~100 Hz.
* short frames (512 = 32 ms, hop 256 = 16 ms; the Melon framing): onset novelty for rhythm, where time
  resolution matters more than frequency resolution.

Frames start at sample 0 (no centring) and the tail is zero-padded to a whole frame. The window is a symmetric
Hann scaled to sum 2 (Essentia's normalised `Windowing`), so a full-scale sine peaks at magnitude ~1 and the
magnitudes are directly comparable with Essentia's `Spectrum` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
LONG_FRAME, LONG_HOP = 2048, 1024
SHORT_FRAME, SHORT_HOP = 512, 256
SILENCE_DB = -100.0  # floor for frame levels: digital silence maps here instead of -inf
ACTIVE_RANGE_DB = 60.0  # frames quieter than (loudest - 60 dB) or -90 dBFS do not vote on spectral shape
ACTIVE_FLOOR_DB = -90.0
SALIENT_PEAK_DB = -20.0


class FeatureInputError(ValueError):
    """The waveform handed to a descriptor extractor is unusable (wrong shape, empty, NaN/inf)."""


def as_wave(wave16k: np.ndarray) -> np.ndarray:
    """Validate and convert to contiguous 1-D float32; the one place bad input is rejected."""
    arr = np.asarray(wave16k)
    if arr.ndim != 1:
        raise FeatureInputError(f"expected a 1-D mono waveform, got shape {arr.shape}")
    if arr.size == 0:
        raise FeatureInputError("empty waveform")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise FeatureInputError(f"expected a real numeric waveform, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise FeatureInputError("waveform contains NaN or infinite samples")
    return arr


def frame_signal(wave: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """(T, frame) read-only strided view of whole frames starting at 0 (an incomplete tail is dropped so a
    steady signal has steady frames); a clip shorter than one frame is zero-padded to a single frame."""
    n = wave.shape[0]
    if n < frame:
        wave = np.concatenate([wave, np.zeros(frame - n, dtype=wave.dtype)])
    return np.lib.stride_tricks.sliding_window_view(wave, frame)[::hop]


@lru_cache(maxsize=8)
def hann(frame: int) -> np.ndarray:
    """Symmetric Hann normalised to sum 2 (a unit sine's peak bin reads ~1)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(frame) / (frame - 1))
    return (w * (2.0 / w.sum())).astype(np.float32)


def magnitude_spectrogram(frames: np.ndarray) -> np.ndarray:
    """(T, frame//2+1) float32 magnitudes of Hann-windowed frames, one batched real FFT."""
    win = hann(frames.shape[1])
    return np.abs(scipy.fft.rfft(frames * win, axis=1, workers=1)).astype(np.float32)


def bin_frequencies(frame: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    return (np.arange(frame // 2 + 1) * (sr / frame)).astype(np.float32)


def power_db(power: np.ndarray) -> np.ndarray:
    """10*log10 with a -100 dB floor, so silence stays finite."""
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), SILENCE_DB)


@dataclass
class Analysis:
    """One clip's shared framing; every derived array is computed lazily and at most once."""

    wave: np.ndarray  # (N,) float32, validated
    sr: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return self.wave.shape[0] / self.sr

    @cached_property
    def frames(self) -> np.ndarray:  # (T, 2048)
        return frame_signal(self.wave, LONG_FRAME, LONG_HOP)

    @cached_property
    def mag(self) -> np.ndarray:  # (T, 1025) long-frame magnitudes
        return magnitude_spectrogram(self.frames)

    @cached_property
    def power(self) -> np.ndarray:
        return self.mag * self.mag

    @cached_property
    def freqs(self) -> np.ndarray:  # (1025,) Hz
        return bin_frequencies(LONG_FRAME, self.sr)

    @cached_property
    def frame_energy(self) -> np.ndarray:  # (T,) sum of squared samples (Essentia `Energy` of the raw frame)
        f = self.frames.astype(np.float64)
        return np.einsum("ij,ij->i", f, f)

    @cached_property
    def frame_db(self) -> np.ndarray:  # (T,) mean-square level in dBFS, floored at -100
        return power_db(self.frame_energy / LONG_FRAME)

    @cached_property
    def active(self) -> np.ndarray:
        """Frames loud enough to describe the music; never empty (falls back to all frames)."""
        db = self.frame_db
        mask = (db > db.max() - ACTIVE_RANGE_DB) & (db > ACTIVE_FLOOR_DB)
        return mask if mask.any() else np.ones_like(mask)

    @cached_property
    def centroid(self) -> np.ndarray:  # (T_active,) Hz, shared by brightness and the centroid percentiles
        return spectral_centroid(self.mag[self.active], self.freqs)

    @cached_property
    def _dissonances(self) -> tuple[np.ndarray, np.ndarray]:
        """(all peaks, salient peaks) dissonance: one peak search serves both sets."""
        from core.features.dissonance import frame_dissonances

        return frame_dissonances(self.mag[self.active], float(self.freqs[1]), (None, SALIENT_PEAK_DB))

    @property
    def dissonance(self) -> np.ndarray:  # (T_active,) per-frame sensory dissonance, shared by both families
        return self._dissonances[0]

    @property
    def salient_dissonance(self) -> np.ndarray:
        """Dissonance of peaks within 20 dB of each frame's strongest: Essentia's default peak set saturates
        near 0.5 on dense music spectra, this variant keeps a usable spread for the interpretive axis."""
        return self._dissonances[1]

    @cached_property
    def short_mag(self) -> np.ndarray:  # (T2, 257) short-frame magnitudes for onset novelty
        return magnitude_spectrogram(frame_signal(self.wave, SHORT_FRAME, SHORT_HOP))

    @property
    def long_rate(self) -> float:  # long frames per second
        return self.sr / LONG_HOP

    @property
    def short_rate(self) -> float:
        return self.sr / SHORT_HOP


def analyse(wave16k: np.ndarray) -> Analysis:
    """Validate a 16 kHz mono waveform and wrap it for shared, lazy spectral analysis."""
    return Analysis(as_wave(wave16k))


def safe_div(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    """num/den with 0 where den is 0, so silent frames yield 0 instead of NaN."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def spectral_centroid(mag: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """(T,) magnitude-weighted mean frequency in Hz (Essentia `Centroid` with range sr/2); 0 for silence."""
    return safe_div(mag @ freqs.astype(np.float64), mag.sum(axis=1, dtype=np.float64))
