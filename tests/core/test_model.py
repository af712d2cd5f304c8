"""QuadFusionNet: paper layer widths, branch ablations, input validation."""

from __future__ import annotations

import pytest
import torch

from core.model import ModelConfig, QuadFusionNet

torch.set_num_threads(1)
G = 20


def _inputs(b: int = 4, t: int = 40) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "mel": torch.randn(b, 48, t, generator=g),
        "muq": torch.randn(b, 1024, generator=g),
        "genre": (torch.rand(b, G, generator=g) > 0.7).float(),
        "lowlevel": torch.randn(b, 8, generator=g),
    }


def test_full_model_widths_match_paper() -> None:
    model = QuadFusionNet(ModelConfig(n_genres=G))
    convs = [m for m in model.branch_modules["mel"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 64, (3, 3)),
        (64, 128, (3, 3)),
        (128, 256, (3, 3)),
    ]
    assert model.branch_modules["muq"][0].weight.shape == (128, 1024)
    assert model.branch_modules["genre"][0].weight.shape == (32, G)
    assert model.branch_modules["lowlevel"][0].weight.shape == (8, 8)
    assert model.fusion1[0].weight.shape == (128, 424)
    assert model.fusion2[0].weight.shape == (64, 128)
    assert model.tag_head.weight.shape == (12, 64)
    assert model.quadrant_head.weight.shape == (4, 64)
    model.eval()
    out = model(**_inputs())
    assert out["embedding"].shape == (4, 128)
    assert out["tag_logits"].shape == (4, 12)
    assert out["quadrant_logits"].shape == (4, 4)
    assert bool((out["embedding"] >= 0).all()), "embedding is taken after ReLU"
    assert torch.allclose(model.embed(**_inputs()), out["embedding"])


@pytest.mark.parametrize(
    "branches, width",
    [(("muq", "genre", "lowlevel"), 168), (("mel", "genre", "lowlevel"), 296), (("mel", "muq", "lowlevel"), 392)],
)
def test_ablations_change_only_fusion_width(branches: tuple[str, ...], width: int) -> None:
    model = QuadFusionNet(ModelConfig(branches=branches, n_genres=G)).eval()
    assert model.fusion1[0].in_features == width
    assert set(model.branch_modules) == set(branches)
    out = model(**_inputs(3))  # inputs for switched-off branches are ignored
    assert out["tag_logits"].shape == (3, 12)


def test_missing_input_for_active_branch_is_clear_error() -> None:
    model = QuadFusionNet(ModelConfig(n_genres=G))
    x = _inputs()
    x.pop("muq")
    with pytest.raises(ValueError, match="muq"):
        model(**x)


def test_mel_accepts_channel_dim_any_length_and_rejects_wrong_bands() -> None:
    model = QuadFusionNet(ModelConfig(branches=("mel",), n_genres=G)).eval()
    mel = torch.randn(2, 48, 37)
    assert torch.allclose(model(mel=mel)["embedding"], model(mel=mel.unsqueeze(1))["embedding"])
    for t in (1, 5, 1876):
        assert model(mel=torch.randn(2, 48, t))["tag_logits"].shape == (2, 12)
    with pytest.raises(ValueError, match="mel must be"):
        model(mel=torch.randn(2, 40, 30))


def test_batch_size_mismatch_and_bad_width() -> None:
    model = QuadFusionNet(ModelConfig(branches=("muq", "lowlevel"), n_genres=G))
    with pytest.raises(ValueError, match="batch size"):
        model(muq=torch.randn(3, 1024), lowlevel=torch.randn(2, 8))
    with pytest.raises(ValueError, match="lowlevel must be"):
        model(muq=torch.randn(2, 1024), lowlevel=torch.randn(2, 9))


def test_config_round_trip_and_validation() -> None:
    cfg = ModelConfig(branches=("lowlevel", "mel"), n_genres=G, mel_frames=1876, heads=("quadrant",))
    assert cfg.branches == ("mel", "lowlevel")  # canonical order
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig().n_genres > 1  # defaults to the running genre vocabulary
    with pytest.raises(ValueError):
        ModelConfig(branches=("mel", "spectrum"), n_genres=G)
    with pytest.raises(ValueError):
        ModelConfig(branches=(), n_genres=G)
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    only_quadrant = QuadFusionNet(cfg).eval()
    out = only_quadrant(mel=torch.randn(2, 48, 16), lowlevel=torch.randn(2, 8))
    assert "tag_logits" not in out and out["quadrant_logits"].shape == (2, 4)


def test_model_learns_a_simple_signal() -> None:
    """A few steps of training on a separable toy problem must lower the loss (gradients reach every branch)."""
    torch.manual_seed(0)
    model = QuadFusionNet(ModelConfig(branches=("mel", "lowlevel"), n_genres=G))
    y = torch.arange(32) % 4
    low = torch.nn.functional.one_hot(y, 8).float() * 3
    mel = torch.randn(32, 48, 16) + y[:, None, None].float()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        out = model(mel=mel, lowlevel=low)
        ce = torch.nn.functional.cross_entropy
        loss = ce(out["quadrant_logits"], y) + ce(out["tag_logits"], y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
