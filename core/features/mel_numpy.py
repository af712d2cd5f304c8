"""The Melon mel spectrogram with numpy/scipy only: what the indexer computes, with or without torch installed.

Same definition as `core.features.mel` (framing, Hann window, Slaney filter bank, log compression; see there and
docs/features.md). The parameters, `mel_frames` and `mel_filterbank` live here, torch-free, and the torch module
imports them; tests hold both spectrograms to the same tolerance against Essentia. The runtime uses this one on
every install: the mel is a small share of a track's work (one 512-point real FFT per 16 ms), it keeps a
torch-free install identical to a full one, and scipy's FFT on one core is as fast as torch's for a single clip
(docs/benchmarks.md).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
FRAME_SIZE = 512
HOP_SIZE = 256
N_MELS = 48
F_MIN = 0.0
F_MAX = 8000.0
LOG_SCALE = 10000.0
N_BINS = FRAME_SIZE // 2 + 1

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def mel_frames(n_samples: int) -> int:
    """Frames Essentia's FrameCutter yields for `n_samples` (first frame centred on sample 0)."""
    n = int(n_samples)
    return 0 if n <= 0 else -(-n // HOP_SIZE) + 1


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOG_STEP, f / _F_SP)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOG_STEP * (m - _MIN_LOG_MEL)), m * _F_SP)


@functools.cache
def mel_filterbank() -> np.ndarray:
    """(48, 257) weights: Slaney-mel triangles, linear in Hz, unit area (Essentia MelBands unit_tri/linear)."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(F_MIN), _hz_to_mel(F_MAX), N_MELS + 2))
    freqs = np.arange(N_BINS) * (SAMPLE_RATE / 2) / (N_BINS - 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lo) / (mid - lo)
    falling = (hi - freqs) / (hi - mid)
    bank = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))
    bank.setflags(write=False)
    return bank


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """Symmetric (not periodic) Hann, not normalised: torch.hann_window(512, periodic=False)."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(FRAME_SIZE) / (FRAME_SIZE - 1))).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _bank32() -> np.ndarray:
    return np.ascontiguousarray(mel_filterbank(), dtype=np.float32)


def melon_mel(wave16k: np.ndarray) -> np.ndarray:
    """(48, T) float32 Melon mel of one 16 kHz mono waveform; T = `mel_frames(len(wave16k))`."""
    x = np.asarray(wave16k, dtype=np.float32).reshape(-1)
    frames = mel_frames(x.size)
    if frames == 0:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    right = (frames - 1) * HOP_SIZE + FRAME_SIZE - FRAME_SIZE // 2 - x.size
    padded = np.concatenate([np.zeros(FRAME_SIZE // 2, np.float32), x, np.zeros(right, np.float32)])
    framed = np.lib.stride_tricks.sliding_window_view(padded, FRAME_SIZE)[::HOP_SIZE]  # (T, 512) view
    spec = scipy.fft.rfft(framed * _window(), axis=1, workers=1)  # (T, 257) complex64
    power = spec.real * spec.real + spec.imag * spec.imag
    mel = power @ _bank32().T  # (T, 48)
    return np.ascontiguousarray(np.log10(1.0 + LOG_SCALE * mel).T, dtype=np.float32)
