"""Melon Playlist Dataset mel spectrogram, vectorised in torch and checked against Essentia.

The QuadFusionNet mel branch is fed the representation of the Melon Playlist Dataset, which was computed
with Essentia's MTG mel extractor (`essentia.pytools.extractors.melspectrogram`). Parameters:

- 16 kHz mono input, frames of 512 samples, hop 256, symmetric Hann window (not normalised), no zero padding.
- Framing of Essentia's streaming FrameCutter (startFromZero=False, validFrameThresholdRatio=0): the first
  frame is centred on sample 0 (256 zeros before the signal), a frame is emitted for every start position
  < N and missing samples at the end are zeros. Hence T = ceil(N / 256) + 1 frames; 30 s -> 1876 frames.
- Magnitude spectrum |FFT|, squared ("power" bands), 48 triangular bands on the Slaney mel scale between 0
  and 8000 Hz, triangles linear in Hz ("linear" weighting), each of unit area ("unit_tri").
- Compression "shift_scale_log": log10(1 + 10000 * x).

`MelonMel` takes the parameters, the framing and the filter bank from `core.features.mel_numpy` (numpy, float64;
the bank equals the matrix probed out of Essentia's MelBands to < 1e-7 absolute), so the torch and numpy mels
cannot drift apart, and runs `torch.stft`. On real music its output matches `essentia_reference_mel` within 1e-3
absolute on the log-compressed values (measured ~1e-5; see docs/features.md), with the same frame count.
Essentia's per-frame graph stays the test reference only.
"""

from __future__ import annotations

import functools
import os
import tempfile

import numpy as np
import torch

from core.features.mel_numpy import (
    F_MAX,
    F_MIN,
    FRAME_SIZE,
    HOP_SIZE,
    LOG_SCALE,
    N_MELS,
    SAMPLE_RATE,
    mel_filterbank,
    mel_frames,
)

__all__ = [
    "SAMPLE_RATE",
    "FRAME_SIZE",
    "HOP_SIZE",
    "N_MELS",
    "F_MAX",
    "MelonMel",
    "essentia_reference_mel",
    "mel_filterbank",
    "mel_frames",
    "melon_mel",
]


class MelonMel(torch.nn.Module):
    """(B, N) or (N,) float waveform at 16 kHz -> (B, 48, T) log-compressed Melon mel spectrogram."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(
            "window", torch.hann_window(FRAME_SIZE, periodic=False, dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "filterbank", torch.from_numpy(np.array(mel_filterbank(), dtype=np.float32)), persistent=False
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim == 1:
            wave = wave.unsqueeze(0)
        if wave.ndim != 2:
            raise ValueError(f"expected (B, N) or (N,) waveform, got shape {tuple(wave.shape)}")
        wave = wave.to(device=self.window.device, dtype=torch.float32)
        batch, n = wave.shape
        frames = mel_frames(n)
        if frames == 0:
            return wave.new_zeros((batch, N_MELS, 0))
        right = (frames - 1) * HOP_SIZE + FRAME_SIZE - FRAME_SIZE // 2 - n
        padded = torch.nn.functional.pad(wave, (FRAME_SIZE // 2, right))
        spec = torch.stft(
            padded,
            n_fft=FRAME_SIZE,
            hop_length=HOP_SIZE,
            win_length=FRAME_SIZE,
            window=self.window,
            center=False,
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, 257, T)
        mel = torch.matmul(self.filterbank, power)  # (B, 48, T)
        return torch.log10(1.0 + LOG_SCALE * mel)


@functools.lru_cache(maxsize=8)
def _module(device: str) -> MelonMel:
    return MelonMel().to(device).eval()


def melon_mel(wave16k: np.ndarray, device: str | torch.device | None = None) -> np.ndarray:
    """(48, T) float32 Melon mel of one 16 kHz mono waveform (CPU unless `device` says otherwise)."""
    dev = str(torch.device(device)) if device is not None else "cpu"
    x = torch.as_tensor(np.asarray(wave16k, dtype=np.float32).reshape(-1))
    with torch.inference_mode():
        out = _module(dev)(x.to(dev))[0]
    return out.cpu().numpy()


def essentia_reference_mel(wave16k: np.ndarray) -> np.ndarray:
    """(48, T) from Essentia's own MTG extractor with the Melon parameters (slow; the test reference).

    The extractor only takes a file, so the waveform is written as a 32-bit float WAV at 16 kHz, which its
    MonoLoader reads back bit-exactly without resampling."""
    import essentia

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    import soundfile as sf
    from essentia.pytools.extractors.melspectrogram import melspectrogram

    x = np.asarray(wave16k, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    fd, path = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        sf.write(path, x, SAMPLE_RATE, subtype="FLOAT")
        bands = melspectrogram(
            path,
            sample_rate=SAMPLE_RATE,
            frame_size=FRAME_SIZE,
            hop_size=HOP_SIZE,
            window_type="hann",
            zero_padding=0,
            low_frequency_bound=F_MIN,
            high_frequency_bound=F_MAX,
            number_bands=N_MELS,
            warping_formula="slaneyMel",
            weighting="linear",
            normalize="unit_tri",
            bands_type="power",
            compression_type="shift_scale_log",
        )
    finally:
        os.unlink(path)
    return np.ascontiguousarray(np.asarray(bands, dtype=np.float32).T)
