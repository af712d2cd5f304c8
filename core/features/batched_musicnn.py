"""MusiCNN vectors of a whole batch of equal-length excerpts already on the GPU: one STFT, one patch tensor.

`MusicnnEmbedder.embed` takes numpy waveforms one at a time (validated and copied to the device each, one log-mel
per excerpt) — right for a CPU worker with one file. A GPU stage holds its batch as one (B, L) device tensor (the
decoders' excerpts, validated by them), so here the log-mel of all B excerpts is one batched STFT, the patches of
all excerpts go through the network together, and nothing is copied back until the (B, 250) result. Same
definitions as `core.features.musicnn` (log-mel, non-overlapping 3 s patches from frame 0, the embedder's
`max_patches` centred picks, means per excerpt); `tests/core/test_batched_musicnn.py` checks it against `embed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.features.musicnn_mel import HOP, N_FFT, PATCH_FRAMES
from core.features.musicnn_tags import patch_picks


def musicnn_batch_vectors(embedder: Any, waves16k: torch.Tensor) -> np.ndarray:
    """(B, 250) float32 = `core.features.track.musicnn_vectors(embedder, rows)` for a (B, L) float32 batch of
    validated 16 kHz excerpts; excerpts shorter than one patch go through `embed` (its repeat-padding)."""
    from core.features.track import musicnn_vectors

    wave = waves16k.to(embedder.device, torch.float32)
    b, n = wave.shape
    if 1 + n // HOP < PATCH_FRAMES:
        return musicnn_vectors(embedder, list(wave.cpu().numpy()))
    with torch.inference_mode():
        spec = torch.stft(
            wave, N_FFT, HOP, window=embedder.window, center=True, pad_mode="constant", return_complex=True
        )  # (B, 257, T)
        power = spec.real.square() + spec.imag.square()
        logmel = torch.log10(10000.0 * torch.matmul(embedder.net.mel_basis, power) + 1.0).mT  # (B, T, 96)
        count = logmel.shape[1] // PATCH_FRAMES
        picks = patch_picks(count, embedder.max_patches)
        keep = list(range(count)) if picks is None else list(picks)
        patches = logmel[:, : count * PATCH_FRAMES].reshape(b, count, PATCH_FRAMES, logmel.shape[2])[:, keep]
        emb, tags = embedder.run_patches(patches.reshape(b * len(keep), PATCH_FRAMES, -1))
        emb = emb.reshape(b, len(keep), -1).mean(dim=1)
        tags = tags.reshape(b, len(keep), -1).mean(dim=1)
        return torch.cat([emb, tags], dim=1).float().cpu().numpy()
