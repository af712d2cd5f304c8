"""The one training loop: epochs of shuffled mini-batches with the shared recipe, for every model this project trains.

QuadFusionNet (core.train.fit) and the triplet baseline (core.baselines) differ only in what a batch's loss is and
how the validation loss is measured; those two are parameters. Everything else is decided here once: AdamW,
ReduceLROnPlateau + early stopping (or OneCycleLR to the last epoch), gradient clipping, batches of at least two
clips (BatchNorm), the best-validation weights restored at the end, and an optional progress bar.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn


class LoopRecipe(Protocol):
    """The TrainConfig fields the loop reads (core.train.TrainConfig has them all)."""

    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    early_stop_patience: int
    plateau_factor: float
    plateau_patience: int
    grad_clip: float
    schedule: str


BatchLoss = Callable[[torch.Tensor, int, int], torch.Tensor]  # (row indices, epoch, batch start) -> scalar loss


@dataclass
class LoopResult:
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: epoch, train_loss, val_loss, lr


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Starts of the batches an epoch trains on: a last batch of one clip is skipped (BatchNorm needs two)."""
    return [s for s in range(0, n, batch_size) if min(batch_size, n - s) >= 2]


def train_loop(
    model: nn.Module,
    n_train: int,
    cfg: LoopRecipe,
    *,
    batch_loss: BatchLoss,
    val_loss: Callable[[], float],
    generator: torch.Generator,
    desc: str = "train",
    show_bar: bool = False,
) -> LoopResult:
    """Train `model` in place on `n_train` clips and leave it in eval mode with its best-validation weights.

    `batch_loss(idx, epoch, start)` runs the forward pass on the clips `idx` (a shuffled slice drawn with
    `generator`) and returns the loss to minimise; `val_loss()` returns the validation loss of the model as it is
    (the loop has already put it in eval mode). Raises ValueError when there is not one batch to train on.
    """
    starts = batch_starts(n_train, cfg.batch_size)
    if not starts:
        raise ValueError(f"too few clips to train: {n_train}")
    device = generator.device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "onecycle":  # warm up to lr, anneal to ~0 at max_epochs; best-val weights kept, no early stop
        sched: Any = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, epochs=cfg.max_epochs, steps_per_epoch=len(starts), pct_start=0.3
        )
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience
        )
    best_loss, best_epoch, best_state, bad = math.inf, -1, None, 0
    history: list[dict[str, float]] = []
    bar = None
    if show_bar:
        from tqdm import tqdm

        bar = tqdm(total=cfg.max_epochs, desc=desc, unit="ep", leave=False)
    try:
        for epoch in range(cfg.max_epochs):
            model.train()
            perm = torch.randperm(n_train, device=device, generator=generator)
            total = 0.0
            for start in starts:
                loss = batch_loss(perm[start : start + cfg.batch_size], epoch, start)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                if cfg.schedule == "onecycle":
                    sched.step()
                total += float(loss.detach())
            model.eval()
            with torch.no_grad():
                val = float(val_loss())
            if cfg.schedule != "onecycle":
                sched.step(val)
            train_loss = total / len(starts)
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val, "lr": opt.param_groups[0]["lr"]})
            if bar is not None:
                bar.set_postfix(train=f"{train_loss:.3f}", val=f"{val:.3f}")
                bar.update(1)
            if val < best_loss - 1e-6:
                best_loss, best_epoch, bad = val, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
                if bad >= cfg.early_stop_patience and cfg.schedule != "onecycle":
                    break
    finally:
        if bar is not None:
            bar.close()
    if best_state is None:  # every validation loss was NaN: nothing better than the start was ever seen
        raise ValueError("training diverged: the validation loss was never finite")
    model.load_state_dict(best_state)
    model.eval()
    return LoopResult(best_epoch=best_epoch, best_val_loss=best_loss, history=history)
