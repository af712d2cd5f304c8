"""Vectorised spectral peaks + sensory dissonance (Plomp-Levelt curve on critical bands), all frames at once.

Semantics follow Essentia's `SpectralPeaks` (defaults, sampleRate 16000) followed by `Dissonance`, so the paper's
descriptor can be reproduced ~10x faster than Essentia's per-frame Python loop:

* peaks: local maxima of the magnitude spectrum from 0 to 5 kHz, refined by parabolic interpolation; the
  100 lowest-frequency peaks are kept (Essentia's order-by-frequency truncation).
* loudness of a peak: magnitude times the squared A-weighting gain (with Essentia's +2 dB offset).
* each peak p1 above 50 Hz sums d(p1, p2) * (L1 + L2) / L_total over peaks p2 up to 1.18 Bark above it and below
  10 kHz, where d = 1 - plomp_levelt(|f2 - f1| / min critical bandwidth); the sum is capped at L1 / L_total and
  the frame's dissonance is half the total (each pair is seen from both ends). 0 = consonant, 0.5 = fully rough.
"""

from __future__ import annotations

import numpy as np

PEAK_MAX_FREQ = 5000.0
MAX_PEAKS = 100
_PL_COEFFS = (-6.58977878, 28.58224226, -47.36739986, 35.70679761, -10.36526344, 1.00026609)  # Plomp-Levelt fit


def spectral_peaks(mag: np.ndarray, bin_hz: float, max_freq: float = PEAK_MAX_FREQ, max_peaks: int = MAX_PEAKS,
                   min_rel_db: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame peaks as padded arrays: freqs (T, P) Hz, mags (T, P), valid (T, P) bool; sorted by frequency.

    `min_rel_db` (e.g. -20) drops peaks weaker than the frame's strongest bin by more than that many dB.
    """
    kmax = int(max_freq / bin_hz)
    sub = mag[:, : kmax + 2].astype(np.float64)
    left = np.concatenate([np.full((sub.shape[0], 1), -np.inf), sub[:, :-1]], axis=1)
    right = np.concatenate([sub[:, 1:], np.full((sub.shape[0], 1), -np.inf)], axis=1)
    is_peak = (sub > left) & (sub >= right) & (sub > 0)
    if min_rel_db is not None:
        is_peak &= sub >= sub[:, : kmax + 1].max(axis=1, keepdims=True) * 10.0 ** (min_rel_db / 20.0)
    is_peak = is_peak[:, : kmax + 1]
    keep = is_peak & (np.cumsum(is_peak, axis=1) <= max_peaks)
    p = max(1, min(max_peaks, int(keep.sum(axis=1).max(initial=0))))
    order = np.argsort(~keep, axis=1, kind="stable")[:, :p]  # kept bins first, in frequency order
    valid = np.take_along_axis(keep, order, axis=1)
    a = np.take_along_axis(left, order, axis=1)
    b = np.take_along_axis(sub, order, axis=1)
    c = np.take_along_axis(right, order, axis=1)
    interior = np.isfinite(a) & np.isfinite(c)
    a, c = np.where(interior, a, b), np.where(interior, c, b)
    den = a - 2.0 * b + c
    shift = np.divide(0.5 * (a - c), den, out=np.zeros_like(den), where=den != 0)
    freqs = (order + shift) * bin_hz
    mags = b - 0.25 * (a - c) * shift
    return np.where(valid, freqs, 0.0), np.where(valid, mags, 0.0), valid


def hz_to_bark(f: np.ndarray) -> np.ndarray:
    """Traunmueller's Bark scale with its low/high corrections."""
    z = 26.81 * f / (1960.0 + f) - 0.53
    z = np.where(z < 2.0, z + 0.15 * (2.0 - z), z)
    return np.where(z > 20.1, z + 0.22 * (z - 20.1), z)


def bark_to_hz(z: np.ndarray) -> np.ndarray:
    z = np.where(z < 2.0, (z - 0.3) / 0.85, z)
    z = np.where(z > 20.1, (z - 4.422) / 1.22, z)
    return 1960.0 * (z + 0.53) / (26.28 - z)


def critical_bandwidth(z: np.ndarray) -> np.ndarray:
    """Critical bandwidth in Hz at Bark position z."""
    return 52548.0 / (z * z - 52.56 * z + 690.39)


def a_weighting_gain(f: np.ndarray) -> np.ndarray:
    """Linear A-weighting amplitude gain (+2 dB offset as in Essentia)."""
    f2 = f * f
    return 1.25893 * 12200.0**2 * f2 * f2 / (
        (f2 + 20.6**2) * (f2 + 12200.0**2) * np.sqrt(f2 + 107.7**2) * np.sqrt(f2 + 737.9**2))


def plomp_levelt(df: np.ndarray) -> np.ndarray:
    """Consonance (1 = consonant) of two partials df critical bandwidths apart."""
    res = np.full_like(df, _PL_COEFFS[0])
    for c in _PL_COEFFS[1:]:  # Horner, in place
        res *= df
        res += c
    np.clip(res, 0.0, 1.0, out=res)
    return np.where((df < 0) | (df > 1.18), 1.0, res)


def _neighbour_reach(f: np.ndarray, valid: np.ndarray, reach: np.ndarray) -> int:
    """Largest index distance between two peaks of one frame that are closer than `reach` Hz (peaks sorted)."""
    b, p = f.shape
    rows = np.arange(b)[:, None] * 1e7
    key = (np.where(valid, f, 1e6) + rows).ravel()
    base = np.arange(b)[:, None] * p
    lo = np.searchsorted(key, (f - reach + rows).ravel(), side="left").reshape(b, p) - base
    hi = np.searchsorted(key, (f + reach + rows).ravel(), side="right").reshape(b, p) - base - 1
    idx = np.arange(p)[None, :]
    span = np.where(valid, np.maximum(idx - lo, hi - idx), 0)
    return int(span.max(initial=0))


def dissonance_from_peaks(freqs: np.ndarray, mags: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T,) dissonance in [0, 0.5] from padded, frequency-sorted peak arrays.

    Only partners closer than 1.18 critical bands can be rough and peaks are sorted, so the pair (i, i+o) is
    visited for offsets o = 1..K only (K = the widest such neighbourhood in the clip), each offset as one
    whole-clip array operation; the symmetric roughness is computed once and credited to both peaks.
    """
    t, p = freqs.shape
    f = np.where(valid, freqs, 0.0)
    loud = np.where(valid, mags * a_weighting_gain(f) ** 2, 0.0)
    total = loud.sum(axis=1)
    bark = hz_to_bark(f)
    cbw = critical_bandwidth(bark)
    low = np.minimum(bark_to_hz(bark - 1.18), 50.0)  # partners below this are ignored (Essentia's skip rule)
    high = np.minimum(bark_to_hz(bark + 1.18), 10000.0)  # partners must lie below this
    above50 = f > 50.0
    k = min(_neighbour_reach(f, valid, 1.18 * cbw), p - 1)
    per_peak = np.zeros((t, p))
    for o in range(1, k + 1):
        lo, hi = slice(0, p - o), slice(o, p)  # lower peak i, upper peak i + o
        both = valid[:, lo] & valid[:, hi]
        d = 1.0 - plomp_levelt((f[:, hi] - f[:, lo]) / np.minimum(cbw[:, lo], cbw[:, hi]))
        w = np.where(both & (d > 0), d, 0.0) * (loud[:, lo] + loud[:, hi])
        per_peak[:, lo] += np.where(above50[:, lo] & (f[:, hi] < high[:, lo]), w, 0.0)
        per_peak[:, hi] += np.where(above50[:, hi] & (f[:, lo] >= low[:, hi]), w, 0.0)
    share = np.divide(np.minimum(per_peak, loud), total[:, None], out=np.zeros_like(loud),
                      where=total[:, None] > 0)
    return 0.5 * share.sum(axis=1)


def frame_dissonance(mag: np.ndarray, bin_hz: float, min_rel_db: float | None = None) -> np.ndarray:
    """(T,) sensory dissonance of each magnitude-spectrum frame (Essentia defaults when min_rel_db is None)."""
    return dissonance_from_peaks(*spectral_peaks(mag, bin_hz, min_rel_db=min_rel_db))
