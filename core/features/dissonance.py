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


def _local_peaks(
    mag: np.ndarray, bin_hz: float, max_freq: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All local maxima up to `max_freq` (uncapped) with the (T, K) float64 spectrum and its left/right neighbour
    arrays (-inf outside the spectrum) for the parabolic refinement."""
    kmax = int(max_freq / bin_hz)
    sub = mag[:, : kmax + 2].astype(np.float64)
    left = np.concatenate([np.full((sub.shape[0], 1), -np.inf), sub[:, :-1]], axis=1)
    right = np.concatenate([sub[:, 1:], np.full((sub.shape[0], 1), -np.inf)], axis=1)
    is_peak = ((sub > left) & (sub >= right) & (sub > 0))[:, : kmax + 1]
    return is_peak, sub, left, right


def _kept(is_peak: np.ndarray, sub: np.ndarray, max_peaks: int, min_rel_db: float | None) -> np.ndarray:
    """The peaks one peak set keeps: those within `min_rel_db` of the frame's maximum (when given), then the
    `max_peaks` lowest in frequency (Essentia's order-by-frequency truncation)."""
    if min_rel_db is not None:
        kmax = is_peak.shape[1] - 1
        is_peak = is_peak & (
            sub[:, : kmax + 1] >= sub[:, : kmax + 1].max(axis=1, keepdims=True) * 10.0 ** (min_rel_db / 20.0)
        )
    if is_peak.shape[0] and int(is_peak.sum(axis=1).max()) > max_peaks:  # the cumulative count only when needed
        is_peak = is_peak & (np.cumsum(is_peak, axis=1) <= max_peaks)
    return is_peak


def _refine(
    rows: np.ndarray, cols: np.ndarray, sub: np.ndarray, left: np.ndarray, right: np.ndarray, bin_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Parabolic interpolation of each peak: (frequency Hz, magnitude); edge bins keep their own value."""
    a, b, c = left[rows, cols], sub[rows, cols], right[rows, cols]
    interior = np.isfinite(a) & np.isfinite(c)
    a, c = np.where(interior, a, b), np.where(interior, c, b)
    den = a - 2.0 * b + c
    shift = np.divide(0.5 * (a - c), den, out=np.zeros_like(den), where=den != 0)
    return (cols + shift) * bin_hz, b - 0.25 * (a - c) * shift


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
    return (
        1.25893
        * 12200.0**2
        * f2
        * f2
        / ((f2 + 20.6**2) * (f2 + 12200.0**2) * np.sqrt(f2 + 107.7**2) * np.sqrt(f2 + 737.9**2))
    )


def plomp_levelt(df: np.ndarray) -> np.ndarray:
    """Consonance (1 = consonant) of two partials df critical bandwidths apart."""
    res = np.full_like(df, _PL_COEFFS[0])
    for c in _PL_COEFFS[1:]:  # Horner, in place
        res *= df
        res += c
    np.clip(res, 0.0, 1.0, out=res)
    return np.where((df < 0) | (df > 1.18), 1.0, res)


def _dissonance_flat(rows: np.ndarray, f: np.ndarray, mags: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames,) dissonance from peaks given as flat arrays in (frame, frequency) order.

    Only partners closer than 1.18 critical bands can be rough. Peaks are sorted and the critical bandwidth grows
    with frequency below 26 Bark, so once the pair (i, i+o) is out of reach, so is every (i, i+o+1): each offset
    o = 1, 2, ... visits only the peaks whose previous partner was still in reach (one array operation per
    offset), and the symmetric roughness is computed once and credited to both peaks.
    """
    loud = mags * a_weighting_gain(f) ** 2
    total = np.bincount(rows, weights=loud, minlength=n_frames)
    bark = hz_to_bark(f)
    cbw = critical_bandwidth(bark)
    low = np.minimum(bark_to_hz(bark - 1.18), 50.0)  # partners below this are ignored (Essentia's skip rule)
    high = np.minimum(bark_to_hz(bark + 1.18), 10000.0)  # partners must lie below this
    above50 = f > 50.0
    per_peak = np.zeros_like(f)
    n = f.shape[0]
    lo = np.arange(n - 1)
    o = 1
    while lo.size:
        hi = lo + o
        lo = lo[rows[hi] == rows[lo]]  # partner in the same frame
        hi = lo + o
        ratio = (f[hi] - f[lo]) / np.minimum(cbw[lo], cbw[hi])
        reach = ratio <= 1.18
        lo, hi, ratio = lo[reach], hi[reach], ratio[reach]
        d = 1.0 - plomp_levelt(ratio)
        w = np.where(d > 0, d, 0.0) * (loud[lo] + loud[hi])
        per_peak[lo] += np.where(above50[lo] & (f[hi] < high[lo]), w, 0.0)  # lo indices are unique per offset
        per_peak[hi] += np.where(above50[hi] & (f[lo] >= low[hi]), w, 0.0)
        o += 1
        lo = lo[lo + o < n]
    t_of = total[rows]
    share = np.divide(np.minimum(per_peak, loud), t_of, out=np.zeros_like(loud), where=t_of > 0)
    return 0.5 * np.bincount(rows, weights=share, minlength=n_frames)


def frame_dissonance(mag: np.ndarray, bin_hz: float, min_rel_db: float | None = None) -> np.ndarray:
    """(T,) sensory dissonance of each magnitude-spectrum frame (Essentia defaults when min_rel_db is None)."""
    return frame_dissonances(mag, bin_hz, (min_rel_db,))[0]


def frame_dissonances(mag: np.ndarray, bin_hz: float, min_rel_dbs: tuple[float | None, ...]) -> tuple[np.ndarray, ...]:
    """`frame_dissonance` for several peak sets at once (one per `min_rel_dbs` entry), sharing the peak search
    and the refinement: the salient set is a subset of all local peaks, so both come from one pass."""
    is_peak, sub, left, right = _local_peaks(mag, bin_hz, PEAK_MAX_FREQ)
    kept = [_kept(is_peak, sub, MAX_PEAKS, rel) for rel in min_rel_dbs]
    union = np.logical_or.reduce(kept) if len(kept) > 1 else kept[0]
    rows, cols = np.nonzero(union)
    f, m = _refine(rows, cols, sub, left, right, bin_hz)
    out = []
    for mask in kept:
        sel = mask[rows, cols]
        out.append(_dissonance_flat(rows[sel], f[sel], m[sel], mag.shape[0]))
    return tuple(out)
