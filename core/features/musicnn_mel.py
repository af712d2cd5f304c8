"""MusiCNN's input: a 96-band log-mel of 16 kHz mono audio, cut into 3 s patches of 187 frames.

Why it is computed this way:
- The MSD MusiCNN was trained on librosa mel spectrograms (n_fft 512, hop 256, Hann, centred frames, power 2,
  Slaney mel bands) compressed with log10(10000 x + 1). The filterbank is stored beside the weights (computed once
  by `scripts/convert_musicnn.py` with librosa) so the runtime needs no librosa and always uses the same bands.
- The compression runs in float32. The original musicnn extractor cast the mel to float16 first, which overflows
  to inf for loud frames (10000 x > 65504) and loses precision everywhere else; we do not reproduce that.
- Inputs shorter than one patch are repeat-padded (the frames tiled until 187), as in the network's training
  configuration ("pad_short": "repeat-pad"). Longer inputs give non-overlapping patches from frame 0; the trailing
  frames that do not fill a patch are dropped, as the original extractor does.
"""

from __future__ import annotations

import math

import torch

# the input definition is shared with the torch-free ONNX runtime, so the two cannot drift apart
from core.features.musicnn_onnx import HOP, MIN_SAMPLES, N_FFT, PATCH_FRAMES, SAMPLE_RATE, check_wave

__all__ = [
    "HOP",
    "MIN_SAMPLES",
    "N_FFT",
    "N_MELS",
    "PATCH_FRAMES",
    "SAMPLE_RATE",
    "check_wave",
    "log_mel",
    "n_frames",
    "to_patches",
]

N_MELS = 96


def n_frames(n_samples: int) -> int:
    """Frames of a centred STFT: one per hop, plus the frame centred on the last sample."""
    return 1 + n_samples // HOP


def log_mel(wave: torch.Tensor, mel_basis: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """(L,) float32 waveform -> (T, 96) log-compressed mel, T = 1 + L // 256.

    `mel_basis` is (96, 257), `window` the periodic Hann window of 512 samples; both live on `wave`'s device.
    """
    spec = torch.stft(wave, N_FFT, HOP, window=window, center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()  # (257, T)
    mel = mel_basis @ power  # (96, T)
    return torch.log10(10000.0 * mel + 1.0).T


def to_patches(logmel: torch.Tensor) -> torch.Tensor:
    """(T, 96) -> (P, 187, 96): non-overlapping patches from frame 0; short inputs repeat-padded to one patch."""
    frames = logmel.shape[0]
    if frames < PATCH_FRAMES:
        reps = math.ceil(PATCH_FRAMES / frames)
        return logmel.repeat(reps, 1)[:PATCH_FRAMES].unsqueeze(0)
    count = frames // PATCH_FRAMES
    return logmel[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, logmel.shape[1])
