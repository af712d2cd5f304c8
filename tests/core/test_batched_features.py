"""The batched torch features (what a GPU indexing run computes) against the numpy extractors, on CPU tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio import load_excerpt
from core.features.batched import batch_features
from core.features.interpretive import DESCRIPTOR_NAMES, all_descriptors
from core.features.lowlevel import LOWLEVEL_NAMES
from core.features.mel import melon_mel

SECONDS = 8.0
N = int(SECONDS * 16000)


def _reference(waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref = [all_descriptors(w) for w in waves]
    return (np.stack([r[0] for r in ref]), np.stack([r[1] for r in ref]), np.stack([melon_mel(w) for w in waves]))


def _assert_close(got: np.ndarray, want: np.ndarray, names: tuple[str, ...]) -> None:
    for j, name in enumerate(names):
        tol = 1e-4 * max(1.0, float(np.abs(want[:, j]).max()))
        np.testing.assert_allclose(got[:, j], want[:, j], atol=tol, rtol=1e-4, err_msg=name)


@pytest.fixture(scope="module")
def demo_waves(demo_files) -> list[np.ndarray]:
    """Three real demo excerpts (Ogg, Opus, MP3), 8 s from the analysed window, plus edge cases."""
    picks = [next(p for p in demo_files if p.suffix == ext) for ext in (".ogg", ".opus", ".mp3")]
    waves = [load_excerpt(p, rates=(16000,)).audio[16000][:N] for p in picks]
    assert all(w.size == N for w in waves)
    t = np.arange(N) / 16000.0
    waves.append(np.zeros(N, np.float32))  # digital silence: no active frames, no peaks, no onsets
    waves.append((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32))  # one steady tone: no pulse
    fade = np.linspace(0.0, 1.0, N, dtype=np.float32) ** 3  # a swell: the tempo fallback path
    waves.append((waves[0] * fade).astype(np.float32))
    return waves


def test_batched_equals_numpy_on_real_and_edge_clips(demo_waves):
    low, interp, mel = _reference(demo_waves)
    got = batch_features(torch.from_numpy(np.stack(demo_waves)))
    assert got.lowlevel.shape == (len(demo_waves), len(LOWLEVEL_NAMES))
    assert got.interpretive.shape == (len(demo_waves), len(DESCRIPTOR_NAMES))
    _assert_close(got.lowlevel, low, LOWLEVEL_NAMES)
    _assert_close(got.interpretive, interp, DESCRIPTOR_NAMES)
    np.testing.assert_allclose(got.mel, mel, atol=1e-5)
    assert np.isfinite(got.interpretive).all() and np.isfinite(got.lowlevel).all()
    # the real clips really exercise the peak, onset and tonal paths (a test of zeros could not fail)
    assert (interp[:3, DESCRIPTOR_NAMES.index("tempo")] > 0).all()
    assert (low[:3, LOWLEVEL_NAMES.index("dissonance_mean")] > 0).all()


def test_a_clip_does_not_depend_on_its_batch_mates(demo_waves):
    alone = batch_features(torch.from_numpy(demo_waves[1][None]))
    together = batch_features(torch.from_numpy(np.stack(demo_waves[:3])))
    np.testing.assert_allclose(alone.interpretive[0], together.interpretive[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(alone.lowlevel[0], together.lowlevel[1], rtol=1e-6, atol=1e-6)


def test_short_clip_shorter_than_one_frame():
    wave = (0.1 * np.random.default_rng(0).standard_normal(1500)).astype(np.float32)
    low, interp = all_descriptors(wave)
    got = batch_features(torch.from_numpy(wave[None]))
    np.testing.assert_allclose(got.lowlevel[0], low, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.interpretive[0], interp, rtol=1e-4, atol=1e-4)


def test_rejects_a_single_waveform():
    with pytest.raises(ValueError, match="batch"):
        batch_features(torch.zeros(16000))
