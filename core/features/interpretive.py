"""Interpretive descriptors: human-readable axes ("Muffled -> Crisp") for labelling map directions.

The table of names, labels, poles, units and docs lives in `resources/descriptors.json`; this module computes
each one from the shared framing of `core.features.spectral` (one STFT per framing, no per-frame loops) and
returns them in table order. Definitions: docs/descriptors.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

from core.features.lowlevel import lowlevel_from_analysis
from core.features.rhythm import rhythm_descriptors
from core.features.spectral import Analysis, analyse, power_db, safe_div
from core.features.tonal import tonality
from core.resources import load_json_resource

GROUPS = ("dynamics", "rhythm", "timbre", "complexity", "tonality")
LRA_WINDOW_S, LRA_ABS_GATE_DB, LRA_REL_GATE_DB = 3.0, -70.0, -20.0
DYN_WINDOW_S = 1.0
ROLLOFF_SHARE = 0.85
LOW_END_HZ = 150.0
COMPLEXITY_THRESHOLD = 0.005
N_MELS, N_MFCC = 40, 12


@dataclass(frozen=True)
class DescriptorSpec:
    name: str
    label: str
    group: str
    low_pole: str
    high_pole: str
    unit: str
    doc: str


@lru_cache(maxsize=1)
def _table() -> tuple[DescriptorSpec, ...]:
    rows = load_json_resource("descriptors.json")
    specs = tuple(DescriptorSpec(**row) for row in rows)
    bad = [s.name for s in specs if s.group not in GROUPS]
    if bad:
        raise ValueError(f"descriptors.json: unknown group for {bad}")
    return specs


def descriptor_table() -> list[DescriptorSpec]:
    """The interpretive descriptors, in the order of `interpretive_descriptors` output."""
    return list(_table())


def _windowed_db(energy_ms: np.ndarray, frames: int) -> np.ndarray:
    """Level (dB) of sliding windows of `frames` long frames (mean of mean-square); one window if the clip is short."""
    frames = max(1, min(frames, energy_ms.shape[0]))
    kernel = np.full(frames, 1.0 / frames)
    return power_db(np.convolve(energy_ms, kernel, mode="valid"))


def _loudness_range(an: Analysis) -> float:
    db = _windowed_db(an.frame_energy / an.frames.shape[1], round(LRA_WINDOW_S * an.long_rate))
    gated = db[db > LRA_ABS_GATE_DB]
    if gated.size == 0:
        return 0.0
    rel = power_db(np.mean(10.0 ** (gated / 10.0))) + LRA_REL_GATE_DB
    gated = gated[gated > rel]
    return float(np.percentile(gated, 95) - np.percentile(gated, 10)) if gated.size else 0.0


def _dynamic_complexity(an: Analysis) -> float:
    db = _windowed_db(an.frame_energy / an.frames.shape[1], round(DYN_WINDOW_S * an.long_rate))
    db = db[(db > db.max() - 60.0) & (db > -90.0)]
    return float(np.mean(np.abs(db - db.mean()))) if db.size else 0.0


@lru_cache(maxsize=2)
def _mel_matrix(n_bins: int, sr: int) -> np.ndarray:
    """(n_bins, N_MELS) triangular HTK-mel filters from 0 Hz to Nyquist, unit peak."""
    top_mel = 2595.0 * np.log10(1.0 + (sr / 2) / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(0.0, top_mel, N_MELS + 2) / 2595.0) - 1.0)
    f = np.linspace(0.0, sr / 2, n_bins)[:, None]
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    return np.maximum(0.0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))


def _timbre(an: Analysis) -> dict[str, float]:
    act = an.active
    power = an.power[act].astype(np.float64)
    freqs = an.freqs
    total = power.sum(axis=1)
    cum = np.cumsum(power, axis=1)
    roll_idx = np.argmax(cum >= ROLLOFF_SHARE * total[:, None], axis=1)
    rolloff = np.where(total > 0, freqs[roll_idx], 0.0)
    band = power[:, int(np.searchsorted(freqs, 30.0)) :]  # bins >= 30 Hz: a view, not a masked copy
    am = band.mean(axis=1)
    logs = band + 1e-20
    gm = np.exp(np.log(logs, out=logs).mean(axis=1))
    flatness = safe_div(gm, am)
    mel_db = 10.0 * np.log10(power @ _mel_matrix(power.shape[1], an.sr) + 1e-10)
    mfcc = scipy.fft.dct(mel_db, type=2, norm="ortho", axis=1)[:, 1 : N_MFCC + 1]
    frames = an.frames[act]
    signs = np.signbit(frames)
    zcr = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / frames.shape[1]
    per_bin = an.power.sum(axis=0, dtype=np.float64)
    low_share = safe_div(per_bin[freqs < LOW_END_HZ].sum(), per_bin.sum())
    mag = an.mag[act]
    peaks = (mag[:, 1:-1] > mag[:, :-2]) & (mag[:, 1:-1] >= mag[:, 2:]) & (mag[:, 1:-1] > COMPLEXITY_THRESHOLD)
    return {
        "brightness": float(np.median(an.centroid)),
        "rolloff": float(np.median(rolloff)),
        "flatness": float(flatness.mean()),
        "timbre_variation": float(mfcc.std(axis=0).mean()) if mfcc.shape[0] > 1 else 0.0,
        "zero_crossing_rate": float(zcr.mean()),
        "low_end_weight": float(max(10.0 * np.log10(max(float(low_share), 1e-12)), -60.0)),
        "spectral_complexity": float(peaks.sum(axis=1).mean()),
    }


def _compute_all(an: Analysis) -> dict[str, float]:
    rhythm = rhythm_descriptors(an.short_mag, an.short_rate, an.duration)
    tonal = tonality(an.mag[an.active], an.freqs)
    values = {
        "rms_level": float(power_db(np.mean(an.wave.astype(np.float64) ** 2))),
        "loudness_range": _loudness_range(an),
        "dynamic_complexity": _dynamic_complexity(an),
        "tempo": rhythm.tempo,
        "onset_density": rhythm.onset_density,
        "pulse_clarity": rhythm.pulse_clarity,
        "dissonance": float(an.salient_dissonance.mean()),
        "key_strength": tonal.key_strength,
        "mode": tonal.mode,
        "chroma_entropy": tonal.chroma_entropy,
    }
    values.update(_timbre(an))
    return values


def interpretive_from_analysis(an: Analysis) -> np.ndarray:
    """(D,) float32 in table order from an existing shared analysis."""
    values = _compute_all(an)
    missing = [n for n in DESCRIPTOR_NAMES if n not in values]
    if missing:
        raise KeyError(f"descriptors.json names without an implementation: {missing}")
    return np.asarray([values[n] for n in DESCRIPTOR_NAMES], dtype=np.float32)


def interpretive_descriptors(wave16k: np.ndarray) -> np.ndarray:
    """(D,) float32 interpretive descriptors of a 16 kHz mono waveform, in `DESCRIPTOR_NAMES` order."""
    return interpretive_from_analysis(analyse(wave16k))


def all_descriptors(wave16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lowlevel (8,), interpretive (D,)) sharing one framing/STFT: what the indexer should call."""
    an = analyse(wave16k)
    return lowlevel_from_analysis(an), interpretive_from_analysis(an)


DESCRIPTOR_NAMES: tuple[str, ...] = tuple(s.name for s in _table())
