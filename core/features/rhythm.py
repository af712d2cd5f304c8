"""Onset envelope, onset picking and autocorrelation tempo on the short (16 ms hop) framing, no frame loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.ndimage import maximum_filter1d, uniform_filter1d

MIN_BPM, MAX_BPM = 40.0, 240.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0  # log-normal tempo preference: resolves octave ambiguity toward ~120
PEAK_HALF_WIDTH_S = 0.048  # an onset is the largest envelope value within +-48 ms
MEAN_HALF_WIDTH_S = 0.100  # ... and exceeds the +-100 ms local mean
ONSET_DELTA = 0.07  # ... by 7% of the envelope's reference level
MIN_ONSET_RISE = 0.01
MIN_ONSETS_FOR_TEMPO = 4
DETREND_S = 1.0  # ... and by at least this much in absolute envelope units (steady tones never qualify)


@dataclass(frozen=True)
class Rhythm:
    tempo: float  # BPM, 0 when there is no pulse to measure
    onset_density: float  # onsets per second
    pulse_clarity: float  # 0..1


def onset_envelope(short_mag: np.ndarray) -> np.ndarray:
    """(T,) mean positive log-magnitude increase per bin: rises at note and drum attacks, 0 in silence."""
    comp = np.log1p(100.0 * short_mag)
    rise = np.maximum(np.diff(comp, axis=0), 0.0).mean(axis=1)
    return np.concatenate([[0.0], rise]).astype(np.float64)


def onset_frames(env: np.ndarray, rate: float) -> np.ndarray:
    """Indices of detected onsets (local maxima clearly above the local mean)."""
    ref = max(float(np.percentile(env, 99)), 0.25 * float(env.max(initial=0.0)))
    if ref <= 1e-4:
        return np.zeros(0, dtype=np.int64)
    n = env
    peak_w = 2 * max(1, round(PEAK_HALF_WIDTH_S * rate)) + 1
    mean_w = 2 * max(1, round(MEAN_HALF_WIDTH_S * rate)) + 1
    is_max = n >= maximum_filter1d(n, peak_w, mode="constant")
    above = n >= uniform_filter1d(n, mean_w, mode="constant") + max(ONSET_DELTA * ref, MIN_ONSET_RISE)
    idx = np.flatnonzero(is_max & above & (n > 0))
    if idx.size > 1:  # plateaus: keep the first sample of equal neighbouring maxima
        idx = idx[np.concatenate([[True], np.diff(idx) > 1])]
    return idx


def _acf_tempo(x: np.ndarray, rate: float) -> tuple[float, float] | None:
    """Best prior-weighted autocorrelation peak of x in the 40-240 BPM lag range; None without any peak."""
    n = x.shape[0]
    lag_min = int(np.floor(60.0 * rate / MAX_BPM))
    lag_max = min(int(np.ceil(60.0 * rate / MIN_BPM)), n - 2)
    if lag_max <= lag_min + 2:
        return None
    spec = scipy.fft.rfft(x, 2 * n, workers=1)
    acf = scipy.fft.irfft(spec.real**2 + spec.imag**2, 2 * n, workers=1)[:n]
    if acf[0] <= 1e-12:
        return None
    acf = acf / acf[0]
    lags = np.arange(lag_min, lag_max + 1)
    local_max = (acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1]) & (acf[lags] > 0)
    if not local_max.any():
        return None
    bpm = 60.0 * rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    best = int(lags[np.argmax(np.where(local_max, acf[lags] * prior, -np.inf))])
    a, b, c = acf[best - 1], acf[best], acf[best + 1]
    den = a - 2.0 * b + c
    shift = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(60.0 * rate / (best + shift)), float(np.clip(b, 0.0, 1.0))


def tempo_from_envelope(env: np.ndarray, rate: float) -> tuple[float, float]:
    """(BPM, pulse clarity) from the onset envelope's autocorrelation weighted by a tempo prior.

    The mean-removed envelope is tried first; when a swell or fade dominates it so much that the
    autocorrelation has no peak in the tempo range, the envelope minus its ~1 s local mean is used instead.
    """
    smooth = uniform_filter1d(env, 3)
    found = _acf_tempo(smooth - env.mean(), rate)
    if found is None:
        width = 2 * round(DETREND_S * rate / 2) + 1
        found = _acf_tempo(smooth - uniform_filter1d(env, width, mode="nearest"), rate)
    return found if found is not None else (0.0, 0.0)


def rhythm_descriptors(short_mag: np.ndarray, rate: float, duration: float) -> Rhythm:
    env = onset_envelope(short_mag)
    onsets = onset_frames(env, rate)
    if onsets.size < MIN_ONSETS_FOR_TEMPO:  # no pulse to speak of: report 0 BPM and no clarity
        return Rhythm(0.0, onsets.size / max(duration, 1e-9), 0.0)
    tempo, clarity = tempo_from_envelope(env, rate)
    return Rhythm(tempo, onsets.size / max(duration, 1e-9), clarity)
