"""Interpretive descriptors: table integrity, known answers on synthetic signals, real demo audio and Essentia's
beat tracker as a tempo reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.signal

from core.audio import load_audio
from core.features.interpretive import (
    DESCRIPTOR_NAMES,
    GROUPS,
    DescriptorSpec,
    all_descriptors,
    descriptor_table,
    interpretive_descriptors,
)
from core.features.lowlevel import lowlevel_descriptors
from core.features.spectral import FeatureInputError
from core.resources import load_json_resource

SR = 16000
IDX = {n: i for i, n in enumerate(DESCRIPTOR_NAMES)}


def clicks(bpm: float, seconds: float = 20.0, amp: float = 0.5) -> np.ndarray:
    """Decaying noise bursts on a strict grid: a metronome."""
    x = np.zeros(int(seconds * SR), np.float32)
    burst = amp * np.random.default_rng(1).standard_normal(80) * np.exp(-np.arange(80) / 20)
    for t in np.arange(0.1, seconds - 0.05, 60.0 / bpm):
        x[int(t * SR) : int(t * SR) + 80] += burst
    return x


def tones(*freqs: float, seconds: float = 6.0, harmonics: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.1 * sum(np.sin(2 * np.pi * f * k * t) / k for f in freqs for k in range(1, harmonics + 1))).astype(
        np.float32
    )


def noise(seconds: float = 10.0, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def value(x: np.ndarray, name: str) -> float:
    return float(interpretive_descriptors(x)[IDX[name]])


def test_table_is_complete_and_consistent():
    table = descriptor_table()
    assert len(table) >= 16
    assert DESCRIPTOR_NAMES == tuple(s.name for s in table)
    assert len(set(DESCRIPTOR_NAMES)) == len(DESCRIPTOR_NAMES)
    assert {s.group for s in table} == set(GROUPS)
    for s in table:
        assert s.label and s.low_pole and s.high_pole and s.unit and len(s.doc) > 30, s.name
        assert s.low_pole != s.high_pole
    assert len(load_json_resource("descriptors.json")) == len(table)
    with pytest.raises(dataclasses.FrozenInstanceError):
        table[0].name = "x"  # type: ignore[misc]
    assert isinstance(table[0], DescriptorSpec)
    poles = {s.name: (s.low_pole, s.high_pole) for s in table}
    assert poles["brightness"] == ("Muffled", "Crisp") and poles["mode"] == ("Minor", "Major")
    assert poles["tempo"] == ("Slow", "Fast") and poles["onset_density"] == ("Sparse", "Dense")


def test_output_shape_and_shared_stft_path():
    x = clicks(100, 8.0) + noise(8.0) * 0.1
    d = interpretive_descriptors(x)
    assert d.shape == (len(DESCRIPTOR_NAMES),) and d.dtype == np.float32
    low, interp = all_descriptors(x)
    np.testing.assert_array_equal(interp, d)
    np.testing.assert_array_equal(low, lowlevel_descriptors(x))


@pytest.mark.parametrize("bpm", [120.0, 90.0, 150.0])
def test_click_track_tempo_and_onset_density(bpm):
    d = interpretive_descriptors(clicks(bpm))
    assert d[IDX["tempo"]] == pytest.approx(bpm, abs=2.0)
    assert d[IDX["onset_density"]] == pytest.approx(bpm / 60.0, rel=0.05)
    assert d[IDX["pulse_clarity"]] > 0.7


def test_steady_sounds_have_no_pulse():
    for x in (tones(440.0), tones(261.63, 329.63, 392.0, harmonics=5)):
        d = interpretive_descriptors(x)
        assert d[IDX["onset_density"]] < 0.2 and d[IDX["tempo"]] == 0.0
    assert value(clicks(120), "pulse_clarity") > 5 * value(noise(), "pulse_clarity")


def test_tone_vs_noise_flatness():
    tone, white = value(tones(440.0), "flatness"), value(noise(), "flatness")
    assert tone < 0.01 and white == pytest.approx(0.56, abs=0.05)  # exp(-euler gamma) for white noise


def test_major_vs_minor_chords():
    c_major = value(tones(261.63, 329.63, 392.0, harmonics=5), "mode")
    g_major = value(tones(196.0, 246.94, 293.66, harmonics=5), "mode")
    a_minor = value(tones(220.0, 261.63, 329.63, harmonics=5), "mode")
    e_minor = value(tones(164.81, 196.0, 246.94, harmonics=5), "mode")
    assert min(c_major, g_major) > 0 > max(a_minor, e_minor)


def test_chord_is_tonally_clearer_and_more_focused_than_noise():
    chord = interpretive_descriptors(tones(261.63, 329.63, 392.0, harmonics=5))
    white = interpretive_descriptors(noise())
    assert chord[IDX["chroma_entropy"]] < white[IDX["chroma_entropy"]] - 0.2
    assert chord[IDX["key_strength"]] > white[IDX["key_strength"]]
    assert chord[IDX["spectral_complexity"]] < white[IDX["spectral_complexity"]]


def test_loud_quiet_alternation_has_larger_loudness_range():
    steady = noise(40.0)
    gain = np.repeat(np.tile([1.0, 0.1], 4), 5 * SR)[: steady.shape[0]].astype(np.float32)
    alternating = steady * gain
    a, s = interpretive_descriptors(alternating), interpretive_descriptors(steady)
    assert a[IDX["loudness_range"]] > 15.0 > 1.0 > s[IDX["loudness_range"]]
    assert a[IDX["dynamic_complexity"]] > 5 * s[IDX["dynamic_complexity"]]
    assert s[IDX["rms_level"]] == pytest.approx(-20.0, abs=0.2)  # 0.1 rms noise


def test_brighter_signal_has_higher_brightness():
    white = noise()
    b, a = scipy.signal.butter(4, 1000 / (SR / 2))
    dark = scipy.signal.lfilter(b, a, white).astype(np.float32)
    w, d = interpretive_descriptors(white), interpretive_descriptors(dark)
    for name in ("brightness", "rolloff", "zero_crossing_rate"):
        assert w[IDX[name]] > 2 * d[IDX[name]], name
    assert d[IDX["low_end_weight"]] > w[IDX["low_end_weight"]]
    assert value(tones(440.0), "brightness") == pytest.approx(440.0, rel=0.01)


def test_consonance_axis_orders_intervals():
    octave = value(tones(262.0, 524.0, harmonics=6), "dissonance")
    second = value(tones(262.0, 262.0 * 2 ** (1 / 12), harmonics=6), "dissonance")
    assert octave < 0.05 < 0.3 < second


@pytest.mark.parametrize("n", [SR * 5, 300])
def test_silence_is_finite(n):
    d = interpretive_descriptors(np.zeros(n, np.float32))
    assert np.isfinite(d).all()
    assert d[IDX["rms_level"]] == -100.0 and d[IDX["tempo"]] == 0.0


def test_bad_input_raises_one_type():
    with pytest.raises(FeatureInputError):
        interpretive_descriptors(np.full(1000, np.inf, np.float32))
    with pytest.raises(FeatureInputError):
        all_descriptors(np.zeros((100, 2), np.float32))


CLEAR_BEAT = [
    "warzone2100_legacy_track4.opus",
    "warzone2100_legacy_track12.opus",
    "wesnoth_journeys_end.ogg",
    "wesnoth_traveling_minstrels.ogg",
]


@pytest.fixture(scope="module")
def demo_waves(demo_dir):
    names = CLEAR_BEAT + [
        "wesnoth_sad.ogg",
        "wesnoth_frantic.mp3",
        "warzone2100_aftermath_track17.m4a",
        "wesnoth_the_city_falls.flac",
    ]
    return {n: load_audio(demo_dir / n, SR) for n in names}


def test_real_demo_audio_ranges(demo_waves):
    rows = np.stack([interpretive_descriptors(w) for w in demo_waves.values()])
    assert np.isfinite(rows).all()
    col = lambda n: rows[:, IDX[n]]  # noqa: E731
    assert ((col("tempo") == 0) | ((col("tempo") >= 40) & (col("tempo") <= 240))).all()
    assert (col("onset_density") >= 0).all() and (col("onset_density") < 20).all()
    assert ((col("flatness") >= 0) & (col("flatness") <= 1)).all()
    assert ((col("chroma_entropy") >= 0) & (col("chroma_entropy") <= 1)).all()
    assert ((col("key_strength") > 0.2) & (col("key_strength") <= 1)).all()  # tonal game music
    assert ((col("rms_level") > -40) & (col("rms_level") < 0)).all()
    assert ((col("brightness") > 200) & (col("brightness") < 4000)).all()
    assert (rows.std(axis=0) > 0).sum() >= len(DESCRIPTOR_NAMES) - 1  # the axes actually vary across pieces


def _octave_error(a: float, b: float) -> float:
    """Relative tempo mismatch allowing the usual half/double-time ambiguity."""
    return min(abs(a * k - b) / b for k in (0.5, 1.0, 2.0))


def test_tempo_agrees_with_essentia_beat_tracker(demo_waves):
    import essentia
    import essentia.standard as es

    essentia.log.warningActive = False
    tracker = es.RhythmExtractor2013(method="degara")
    for name in CLEAR_BEAT:
        wave = demo_waves[name]
        ref = tracker(scipy.signal.resample_poly(wave, 441, 160).astype(np.float32))[0]
        ours = float(interpretive_descriptors(wave)[IDX["tempo"]])
        assert _octave_error(ours, ref) < 0.04, (name, ours, ref)


def test_brightness_agrees_with_essentia_centroid(demo_waves):
    import essentia.standard as es

    from core.features.spectral import analyse

    window, spectrum, centroid = es.Windowing(type="hann"), es.Spectrum(), es.Centroid(range=SR / 2)
    wave = demo_waves["wesnoth_frantic.mp3"]
    an = analyse(wave)
    ref = np.array([centroid(spectrum(window(np.ascontiguousarray(f)))) for f in an.frames[an.active]])
    assert value(wave, "brightness") == pytest.approx(np.median(ref), abs=0.1)
