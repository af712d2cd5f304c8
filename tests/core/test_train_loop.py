"""The one training loop, on synthetic arrays (no data folder needed): QuadFusionNet and the triplet baseline both
train through it, learn a learnable signal, stop early and come back with their best-validation weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.baselines import train_triplet
from core.train import TrainConfig, fit
from core.train_loop import batch_starts, train_loop


def _learnable(fourq_synthetic):
    return fourq_synthetic(n=96, frames=48, seed=0)


def test_fit_learns_the_quadrant_from_the_features(fourq_synthetic):
    arrays = _learnable(fourq_synthetic)
    cfg = TrainConfig(
        branches=("genre", "lowlevel"),
        task="joint",
        max_epochs=12,
        batch_size=16,
        lr=3e-3,
        device="cpu",
        crop_frames=None,
    )
    result = fit(arrays, cfg, show_bar=False)
    assert result.val_metrics["macro_f1"] > 0.8  # chance is 0.25
    assert result.history[result.best_epoch]["val_loss"] == pytest.approx(result.best_val_loss)
    assert all(h["val_loss"] >= result.best_val_loss - 1e-6 for h in result.history)
    assert not result.model.training  # handed back ready for inference


def test_triplet_baseline_trains_through_the_same_loop(fourq_synthetic):
    arrays = _learnable(fourq_synthetic)
    train, test = arrays.subset(np.arange(72)), arrays.subset(np.arange(72, 96))
    cfg = TrainConfig(max_epochs=4, batch_size=16, lr=1e-3, device="cpu", crop_frames=32)
    out = train_triplet(train, test, "quadrant", cfg)
    assert 0 <= out["best_epoch"] < 4 and np.isfinite(out["val_loss"])
    assert out["macro_f1"] > 0.5  # the mel carries the quadrant in its band energies
    tags = train_triplet(train, test, "tags", TrainConfig(max_epochs=1, batch_size=16, device="cpu", crop_frames=None))
    assert 0.0 <= tags["ndcg@3"] <= 1.0


def test_loop_stops_early_and_restores_the_best_weights():
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]
    y = 3 * x
    val_losses = iter([5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    weights: list[float] = []

    def val_loss() -> float:
        weights.append(model.weight.item())
        return next(val_losses)

    cfg = TrainConfig(max_epochs=7, batch_size=8, early_stop_patience=3, lr=0.1)
    gen = torch.Generator().manual_seed(0)
    result = train_loop(
        model,
        32,
        cfg,
        batch_loss=lambda idx, epoch, start: ((model(x[idx]) - y[idx]) ** 2).mean(),
        val_loss=val_loss,
        generator=gen,
    )
    assert (result.best_epoch, result.best_val_loss, len(result.history)) == (1, 1.0, 5)  # 3 worse epochs: stop
    assert model.weight.item() == pytest.approx(weights[1])  # epoch 1's weights, not the last ones


def test_a_lone_last_clip_is_never_a_batch_and_no_batch_is_an_error():
    assert batch_starts(33, 16) == [0, 16]  # clip 32 alone would break BatchNorm
    assert batch_starts(34, 16) == [0, 16, 32]
    with pytest.raises(ValueError, match="too few clips"):
        train_loop(
            torch.nn.Linear(1, 1),
            1,
            TrainConfig(),
            batch_loss=lambda *a: torch.zeros(()),
            val_loss=lambda: 0.0,
            generator=torch.Generator(),
        )
