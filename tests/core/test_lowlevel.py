"""The paper's 8 low-level descriptors: known answers on synthetic signals and agreement with Essentia's
per-frame algorithms (Windowing -> Spectrum -> Centroid / Flux / SpectralPeaks -> Dissonance, Energy) on real audio."""

from __future__ import annotations

import numpy as np
import pytest

from core.audio import load_audio
from core.features.lowlevel import LOWLEVEL_NAMES, essentia_reference_frames, frame_flux, lowlevel_descriptors
from core.features.spectral import FeatureInputError, analyse, spectral_centroid

SR = 16000
IDX = {n: i for i, n in enumerate(LOWLEVEL_NAMES)}


def tones(*freqs: float, seconds: float = 6.0, harmonics: int = 1, amp: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * k * t) / k for f in freqs for k in range(1, harmonics + 1))
    return (amp * x).astype(np.float32)


def noise(seconds: float = 6.0, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_names_and_shape():
    assert len(LOWLEVEL_NAMES) == 8 and len(set(LOWLEVEL_NAMES)) == 8
    out = lowlevel_descriptors(noise())
    assert out.shape == (8,) and out.dtype == np.float32


@pytest.mark.parametrize("freq", [440.0, 1000.0, 3000.0])
def test_pure_tone_centroid_is_its_frequency(freq):
    d = lowlevel_descriptors(tones(freq))
    assert d[IDX["centroid_p10"]] == pytest.approx(freq, rel=0.01)
    assert d[IDX["centroid_p90"]] == pytest.approx(freq, rel=0.01)


def test_60hz_sine_is_all_low_band():
    d = lowlevel_descriptors(tones(60.0))
    assert d[IDX["low_band_ratio"]] > 0.99
    assert d[IDX["high_band_ratio"]] < 1e-4


def test_white_noise_centroid_and_flat_spectrum():
    d = lowlevel_descriptors(noise(10.0))
    assert d[IDX["centroid_p10"]] == pytest.approx(SR / 4, rel=0.05)
    assert d[IDX["centroid_p90"]] == pytest.approx(SR / 4, rel=0.05)
    assert d[IDX["centroid_p90"]] - d[IDX["centroid_p10"]] < 0.05 * SR / 4
    assert d[IDX["high_band_ratio"]] == pytest.approx(0.5, abs=0.02)  # 4-8 kHz is half of a flat spectrum
    assert d[IDX["low_band_ratio"]] == pytest.approx(250 / 8000, abs=0.01)


def test_constant_level_has_no_energy_movement():
    d = lowlevel_descriptors(tones(1000.0))
    assert d[IDX["energy_std"]] < 0.01 and d[IDX["energy_slope_median"]] < 0.1
    steady = lowlevel_descriptors(noise())
    assert steady[IDX["energy_std"]] < 0.5 and steady[IDX["energy_slope_median"]] < 3.0
    pulsing = noise(6.0) * np.repeat(np.tile([1.0, 0.1], 12), SR // 4).astype(np.float32)
    moving = lowlevel_descriptors(pulsing)
    assert moving[IDX["energy_std"]] > 5 * steady[IDX["energy_std"]] + 3.0
    assert moving[IDX["energy_slope_median"]] > steady[IDX["energy_slope_median"]]
    assert d[IDX["flux_median"]] < 0.01 * steady[IDX["flux_median"]]  # a stationary tone has no spectral flux


@pytest.mark.parametrize("n", [16000 * 5, 1000, 1])
def test_silence_and_tiny_clips_are_finite(n):
    d = lowlevel_descriptors(np.zeros(n, dtype=np.float32))
    assert np.isfinite(d).all() and (d == 0).all()
    assert np.isfinite(lowlevel_descriptors(noise(0.05))).all()


def test_octave_is_more_consonant_than_minor_second():
    diss = IDX["dissonance_mean"]
    octave = lowlevel_descriptors(tones(440.0, 880.0))[diss]
    second = lowlevel_descriptors(tones(440.0, 440.0 * 2 ** (1 / 12)))[diss]
    assert octave < 0.05 < 0.4 < second
    # with harmonics: octave < fifth < minor second
    rich = [lowlevel_descriptors(tones(262.0, 262.0 * r, harmonics=6))[diss] for r in (2.0, 1.5, 2 ** (1 / 12))]
    assert rich[0] < rich[1] < rich[2]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 100), np.float32),
        np.zeros(0, np.float32),
        np.array([0.0, np.nan] * 1000, np.float32),
        np.array(["a", "b"]),
    ],
)
def test_bad_input_raises_one_type(bad):
    with pytest.raises(FeatureInputError):
        lowlevel_descriptors(bad)


@pytest.fixture(scope="module")
def real_waves(demo_dir):
    names = [
        "wesnoth_sad.ogg",
        "wesnoth_knolls.opus",
        "wesnoth_the_city_falls.flac",
        "wesnoth_frantic.mp3",
        "warzone2100_aftermath_track17.m4a",
    ]
    return {n: load_audio(demo_dir / n, SR) for n in names}


@pytest.mark.parametrize("name", ["wesnoth_sad.ogg", "wesnoth_knolls.opus"])
def test_per_frame_agreement_with_essentia(real_waves, name):
    an = analyse(real_waves[name])
    ref = essentia_reference_frames(an.frames)
    assert np.abs(spectral_centroid(an.mag, an.freqs) - ref["centroid"]).max() < 0.05  # Hz
    flux = frame_flux(an.mag)
    assert np.abs(flux[1:] - ref["flux"][1:]).max() < 1e-4 * ref["flux"].max()
    assert np.allclose(an.frame_energy, ref["energy"], rtol=1e-4, atol=1e-9)
    assert np.abs(an.dissonance - ref["dissonance"][an.active]).max() < 1e-4
    d = lowlevel_descriptors(real_waves[name])
    assert d[IDX["dissonance_mean"]] == pytest.approx(ref["dissonance"][an.active].mean(), abs=1e-5)
    assert d[IDX["flux_median"]] == pytest.approx(np.median(ref["flux"][1:]), rel=1e-3)
    act_centroid = ref["centroid"][an.active]
    assert d[IDX["centroid_p90"]] == pytest.approx(np.percentile(act_centroid, 90), abs=0.1)


def test_real_demo_audio_in_sensible_ranges(real_waves):
    rows = {n: lowlevel_descriptors(w) for n, w in real_waves.items()}
    for name, d in rows.items():
        assert np.isfinite(d).all(), name
        assert 0 <= d[IDX["centroid_p10"]] <= d[IDX["centroid_p90"]] < SR / 2, name
        assert 0 <= d[IDX["low_band_ratio"]] <= 1 and 0 <= d[IDX["high_band_ratio"]] <= 1, name
        assert d[IDX["low_band_ratio"]] + d[IDX["high_band_ratio"]] <= 1, name
        assert 0 <= d[IDX["dissonance_mean"]] <= 0.5 and d[IDX["energy_std"]] > 0.5, name
    # different pieces give different vectors
    stacked = np.stack(list(rows.values()))
    assert (stacked.std(axis=0)[[IDX["centroid_p90"], IDX["energy_std"], IDX["low_band_ratio"]]] > 0).all()
