"""The vectorised Melon mel must reproduce Essentia's MTG extractor (values and framing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.features.mel import (
    FRAME_SIZE,
    HOP_SIZE,
    N_MELS,
    SAMPLE_RATE,
    MelonMel,
    essentia_reference_mel,
    mel_filterbank,
    mel_frames,
    melon_mel,
)

# Max abs error allowed on log10(1 + 1e4 x) values (which reach ~6 on loud music); measured ~2e-4 worst case.
TOLERANCE = 1e-3


def test_constants_and_frame_count():
    assert (SAMPLE_RATE, FRAME_SIZE, HOP_SIZE, N_MELS) == (16000, 512, 256, 48)
    assert mel_frames(30 * SAMPLE_RATE) == 1876
    assert mel_frames(0) == 0
    rng = np.random.default_rng(0)
    for n in (1, 255, 256, 257, 512, 513, 1000):
        wave = (0.1 * rng.standard_normal(n)).astype(np.float32)
        ref = essentia_reference_mel(wave)
        assert ref.shape == (N_MELS, mel_frames(n)), n
        out = melon_mel(wave)
        assert out.shape == ref.shape and np.abs(out - ref).max() <= TOLERANCE, n


def test_filterbank_equals_essentia_melbands():
    import essentia.standard as es

    bands = es.MelBands(
        inputSize=FRAME_SIZE // 2 + 1,
        numberBands=N_MELS,
        sampleRate=SAMPLE_RATE,
        lowFrequencyBound=0,
        highFrequencyBound=SAMPLE_RATE / 2,
        warpingFormula="slaneyMel",
        weighting="linear",
        normalize="unit_tri",
        type="power",
        log=False,
    )
    probed = np.zeros((N_MELS, FRAME_SIZE // 2 + 1))
    for k in range(FRAME_SIZE // 2 + 1):
        impulse = np.zeros(FRAME_SIZE // 2 + 1, dtype=np.float32)
        impulse[k] = 1.0
        probed[:, k] = bands(impulse)
    bank = mel_filterbank()
    assert bank.shape == probed.shape
    np.testing.assert_allclose(bank, probed, atol=1e-7, rtol=0)
    assert (bank > 0).sum(axis=1).min() >= 1, "every band must cover at least one FFT bin"


def _one_per_format(demo_files: list[Path]) -> list[Path]:
    picked: dict[str, Path] = {}
    for p in demo_files:
        picked.setdefault(p.suffix, p)
    return list(picked.values())


def _assert_matches_essentia(clips):
    for path in clips:
        wave = load_audio(path, SAMPLE_RATE)
        ref = essentia_reference_mel(wave)
        out = melon_mel(wave)
        assert out.dtype == np.float32
        assert out.shape == ref.shape == (N_MELS, mel_frames(len(wave))), path
        assert ref.max() > 3.0, f"{path}: reference looks silent"
        err = float(np.abs(out - ref).max())
        assert err <= TOLERANCE, (path.name, err)


def test_matches_essentia_on_real_music(demo_files):
    _assert_matches_essentia(_one_per_format(demo_files))


def test_matches_essentia_on_a_4q_clip(fourq_dir):
    """Extra layer: one clip of the 4Q data set (skipped without ../shared/data/4q)."""
    _assert_matches_essentia([sorted((fourq_dir / "audio").glob("*.opus"))[0]])


def test_30s_excerpt_has_melon_frame_count(demo_files):
    wave = load_audio(demo_files[0], SAMPLE_RATE, start=0.0, duration=30.0)
    assert len(wave) == 480000
    assert melon_mel(wave).shape == (48, 1876)


def test_batched_equals_single_and_silence_is_zero(demo_files):
    waves = [load_audio(p, SAMPLE_RATE, start=5.0, duration=4.0) for p in _one_per_format(demo_files)[:3]]
    batch = torch.from_numpy(np.stack(waves))
    module = MelonMel()
    with torch.inference_mode():
        out = module(batch)
    assert out.shape == (3, N_MELS, mel_frames(64000)) and out.dtype == torch.float32
    for i, wave in enumerate(waves):
        np.testing.assert_allclose(out[i].numpy(), melon_mel(wave), atol=1e-5)
    assert np.array_equal(melon_mel(np.zeros(16000, dtype=np.float32)), np.zeros((48, mel_frames(16000))))
    with pytest.raises(ValueError):
        module(torch.zeros(2, 3, 100))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(demo_files):
    wave = load_audio(demo_files[0], SAMPLE_RATE)
    np.testing.assert_allclose(melon_mel(wave, device="cuda"), melon_mel(wave), atol=TOLERANCE)
