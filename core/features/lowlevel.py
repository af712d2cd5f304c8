"""The paper's 8 low-level descriptors (the QuadFusionNet `lowlevel` branch input), vectorised over frames.

All come from the shared long framing of `core.features.spectral` (2048-sample Hann frames, hop 1024, 16 kHz).
Spectral-shape statistics only use "active" frames (within 60 dB of the loudest frame and above -90 dBFS), so
fade-ins and digital silence do not drag percentiles. Definitions, units and rationale: docs/descriptors.md.
"""

from __future__ import annotations

import numpy as np

from core.features.spectral import SAMPLE_RATE, Analysis, analyse, safe_div

LOWLEVEL_NAMES: tuple[str, ...] = (
    "energy_slope_median",  # dB/s
    "dissonance_mean",  # 0..0.5
    "centroid_p90",  # Hz
    "centroid_p10",  # Hz
    "high_band_ratio",  # 0..1, power above 4 kHz
    "low_band_ratio",  # 0..1, power below 250 Hz
    "energy_std",  # dB
    "flux_median",  # L2 norm of magnitude-spectrum difference
)
LOW_BAND_HZ = 250.0
HIGH_BAND_HZ = 4000.0


def frame_flux(mag: np.ndarray) -> np.ndarray:
    """(T,) L2 norm of consecutive magnitude-spectrum differences (Essentia `Flux`, norm L2); first frame 0."""
    diff = np.diff(mag, axis=0, prepend=mag[:1])
    return np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float64))


def band_ratios(an: Analysis) -> tuple[float, float]:
    """(low, high) share of the clip's total spectral power below 250 Hz / at or above 4 kHz."""
    per_bin = an.power.sum(axis=0, dtype=np.float64)
    total = per_bin.sum()
    low = per_bin[an.freqs < LOW_BAND_HZ].sum()
    high = per_bin[an.freqs >= HIGH_BAND_HZ].sum()
    return float(safe_div(low, total)), float(safe_div(high, total))


def lowlevel_from_analysis(an: Analysis) -> np.ndarray:
    """The 8 descriptors from an existing shared analysis (lets `all_descriptors` reuse one STFT)."""
    db = an.frame_db
    slope = np.abs(np.diff(db)) * an.long_rate if db.shape[0] > 1 else np.zeros(1)
    centroid = an.centroid
    diss = an.dissonance
    low, high = band_ratios(an)
    flux = frame_flux(an.mag)[1:] if an.mag.shape[0] > 1 else np.zeros(1)
    values = (
        np.median(slope),
        diss.mean(),
        np.percentile(centroid, 90),
        np.percentile(centroid, 10),
        high,
        low,
        db.std(),
        np.median(flux),
    )
    return np.asarray(values, dtype=np.float32)


def lowlevel_descriptors(wave16k: np.ndarray) -> np.ndarray:
    """(8,) float32 in `LOWLEVEL_NAMES` order for a 16 kHz mono waveform; finite for any valid input."""
    return lowlevel_from_analysis(analyse(wave16k))


def essentia_reference_frames(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame centroid, flux, energy and dissonance from Essentia's own algorithms (Windowing -> Spectrum ->
    Centroid / Flux / SpectralPeaks -> Dissonance, Energy), one Python call per frame: ~10x slower than the
    vectorised path above, so it is only the reference that tests and bench/descriptors.py check against.

    `frames` are the (n, 2048) raw frames of `analyse(...).frames`; Essentia must be installed."""
    import essentia
    import essentia.standard as es

    essentia.log.warningActive = False
    window, spectrum = es.Windowing(type="hann"), es.Spectrum()
    centroid, flux, energy = es.Centroid(range=SAMPLE_RATE / 2), es.Flux(), es.Energy()
    peaks, dissonance = es.SpectralPeaks(sampleRate=SAMPLE_RATE), es.Dissonance()
    out: dict[str, list[float]] = {"centroid": [], "flux": [], "energy": [], "dissonance": []}
    for frame in frames:
        frame = np.ascontiguousarray(frame, dtype=np.float32)
        mag = spectrum(window(frame))
        out["centroid"].append(centroid(mag))
        out["flux"].append(flux(mag))
        out["energy"].append(energy(frame))
        out["dissonance"].append(dissonance(*peaks(mag)))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
