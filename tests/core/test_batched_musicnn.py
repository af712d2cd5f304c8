"""Batched MusiCNN vectors (what a GPU stage computes from its device batch) equal the per-excerpt embedder's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio import load_excerpt
from core.features.batched_musicnn import musicnn_batch_vectors
from core.features.musicnn import load_musicnn
from core.features.track import musicnn_vectors

N = 16000 * 10 + 321  # 10 s and a bit: three whole patches and a dropped tail


@pytest.fixture(scope="module")
def waves(demo_files) -> np.ndarray:
    torch.set_num_threads(1)
    picks = [next(p for p in demo_files if p.suffix == ext) for ext in (".ogg", ".opus")]
    return np.stack([load_excerpt(p, rates=(16000,)).audio[16000][:N] for p in picks]).astype(np.float32)


@pytest.mark.parametrize("max_patches", [None, 2, 3])
def test_batched_equals_per_excerpt(waves, max_patches):
    embedder = load_musicnn("cpu", max_patches=max_patches)
    want = musicnn_vectors(embedder, list(waves))
    got = musicnn_batch_vectors(embedder, torch.from_numpy(waves))
    assert got.shape == want.shape == (2, 250)
    assert np.abs(want[0] - want[1]).max() > 1e-2  # two different excerpts, so a mix-up would show
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_short_excerpts_fall_back_to_repeat_padding(waves):
    embedder = load_musicnn("cpu")
    short = waves[:, : 16000 * 2]
    np.testing.assert_allclose(
        musicnn_batch_vectors(embedder, torch.from_numpy(short)),
        musicnn_vectors(embedder, list(short)),
        rtol=1e-4,
        atol=1e-5,
    )
