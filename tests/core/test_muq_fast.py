"""The CUDA rewrite of MuQ (core.features.muq_fast) computes the same embeddings as the model it rewrites.

Run on the CPU in float32 with a small 2-layer MuQ whose batch-norms carry non-trivial statistics (fresh ones are
identities, which a broken fold would pass), on real demo audio."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.features.muq_embed import MuQEmbedder, _build_random, tiny_muq_config
from core.features.muq_fast import speed_up_for_cuda


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.set_num_threads(1)
    m = _build_random(tiny_muq_config(dim=64, depth=2), seed=3)
    gen = torch.Generator().manual_seed(7)
    for bn in m.modules():
        if isinstance(bn, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
            bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            bn.weight.data.copy_(torch.randn(c, generator=gen))
            bn.bias.data.copy_(torch.randn(c, generator=gen) * 0.3)
    return m.eval()


def test_rewrite_matches_the_original_on_real_audio(model, demo_dir):
    waves = [
        load_audio(demo_dir / n, 24000, start=3.0, duration=4.0) for n in ("wesnoth_sad.ogg", "wesnoth_knolls.opus")
    ]
    plain = MuQEmbedder(copy.deepcopy(model), device="cpu", fast=False)
    fast = MuQEmbedder(copy.deepcopy(model), device="cpu", fast=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.model.model.conv.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.model.model.conv.modules())
    for layer in (-1, 1):
        plain.layer = fast.layer = layer
        a, b = plain.embed(waves, batch_size=2), fast.embed(waves, batch_size=2)
        assert np.abs(a).max() > 1e-2  # a real signal, not zeros
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * np.abs(a).max())


def test_rewrite_refuses_a_training_model(model):
    with pytest.raises(ValueError, match="eval-mode"):
        speed_up_for_cuda(copy.deepcopy(model).train())
