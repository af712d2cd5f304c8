"""Chroma and key-profile statistics (key strength, major/minor mode score, chroma entropy) from the long STFT."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CHROMA_MIN_HZ, CHROMA_MAX_HZ = 100.0, 5000.0
# Krumhansl-Kessler probe-tone ratings, tonic first (C major / C minor).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class Tonality:
    key_strength: float  # best correlation with any of the 24 key profiles
    mode: float  # mean over frames of (best major-triad - best minor-triad correlation)
    chroma_entropy: float  # 0..1
    chroma: np.ndarray  # (12,) mean normalised chroma, C first


@lru_cache(maxsize=4)
def chroma_matrix(freqs_key: tuple[float, ...]) -> np.ndarray:
    """(K, 12) weights mapping spectrum bins to pitch classes; a bin counts fully when it sits on a semitone."""
    freqs = np.asarray(freqs_key)
    w = np.zeros((freqs.shape[0], 12))
    band = (freqs >= CHROMA_MIN_HZ) & (freqs <= CHROMA_MAX_HZ)
    midi = 69.0 + 12.0 * np.log2(freqs[band] / 440.0)
    nearest = np.round(midi)
    w[np.flatnonzero(band), (nearest.astype(int) % 12)] = np.cos(np.pi * (midi - nearest)) ** 2
    return w / w.sum(axis=0, keepdims=True)  # a flat spectrum gives a flat chroma


@lru_cache(maxsize=1)
def _triads() -> np.ndarray:
    """(24, 12) z-scored triad templates: rows 0-11 major triads on C..B, 12-23 minor triads."""
    major, minor = np.zeros(12), np.zeros(12)
    major[[0, 4, 7]] = 1.0
    minor[[0, 3, 7]] = 1.0
    p = np.asarray([np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)])
    return (p - p.mean(axis=1, keepdims=True)) / p.std(axis=1, keepdims=True)


def _zscore_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = x.std(axis=1, keepdims=True)
    ok = std[:, 0] > 1e-12
    return np.divide(x - x.mean(axis=1, keepdims=True), std, out=np.zeros_like(x), where=std > 1e-12), ok


@lru_cache(maxsize=1)
def _profiles() -> np.ndarray:
    """(24, 12) z-scored key profiles: rows 0-11 major keys C..B, 12-23 minor keys C..B."""
    rows = [np.roll(MAJOR_PROFILE, k) for k in range(12)] + [np.roll(MINOR_PROFILE, k) for k in range(12)]
    p = np.asarray(rows)
    return (p - p.mean(axis=1, keepdims=True)) / p.std(axis=1, keepdims=True)


def tonality(mag: np.ndarray, freqs: np.ndarray) -> Tonality:
    """Key statistics of the frames in `mag` (pass only active frames)."""
    chroma = mag.astype(np.float64) @ chroma_matrix(tuple(float(f) for f in freqs))
    frame_sum = chroma.sum(axis=1, keepdims=True)
    chroma = np.divide(chroma, frame_sum, out=np.zeros_like(chroma), where=frame_sum > 0)
    mean = chroma.mean(axis=0)
    if mean.sum() <= 0 or mean.std() <= 1e-12:
        return Tonality(0.0, 0.0, 1.0 if mean.sum() > 0 else 0.0, mean)
    z = (mean - mean.mean()) / mean.std()
    r = _profiles() @ z / 12.0
    p = mean / mean.sum()
    entropy = -np.sum(p * np.log(np.where(p > 0, p, 1.0))) / np.log(12.0)
    # Mode from chord quality frame by frame: key profiles confuse a major triad with the minor key of its
    # third (C-E-G vs E minor), triad templates do not.
    zf, ok = _zscore_rows(chroma)
    rt = zf[ok] @ _triads().T / 12.0
    mode = float(np.mean(rt[:, :12].max(axis=1) - rt[:, 12:].max(axis=1))) if ok.any() else 0.0
    return Tonality(float(r.max()), mode, float(entropy), mean)
