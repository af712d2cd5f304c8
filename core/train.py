"""Training of QuadFusionNet on FeatureArrays: ListNet for tag ranking, class-weighted CE for quadrants.

Recipe (docs/training.md): AdamW (lr 3e-4, wd 1e-4), ReduceLROnPlateau (factor 0.2, patience 3) and early
stopping (patience 8) on the validation loss, batch 32, at most 50 epochs, gradient clipping at 1.0, 20 % of the
training clips held out for validation (stratified by quadrant). The whole data set lives on the device as
tensors: the sets are small, so a DataLoader would only add overhead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from core.datasets import FeatureArrays, stratified_folds, stratified_split
from core.losses import (
    class_weights_from_counts,
    listmle_loss,
    listnet_loss,
    weighted_cross_entropy,
)
from core.model import ModelConfig, QuadFusionNet
from core.train_data import DeviceData, compute_normalization
from core.train_loop import train_loop
from core.train_predict import evaluate_model, predict_arrays, predict_tensors, score_predictions

__all__ = [
    "TrainConfig",
    "TrainResult",
    "fit",
    "DeviceData",
    "compute_normalization",
    "checkpoint_meta",
    "evaluate_model",
    "predict_arrays",
    "predict_tensors",
    "score_predictions",
    "validation_arrays",
]

TASKS = {"tags": ("tags",), "quadrant": ("quadrant",), "joint": ("tags", "quadrant")}


@dataclass
class TrainConfig:
    branches: tuple[str, ...] = ("mel", "genre", "lowlevel")
    task: str = "joint"  # "tags" (ranking), "quadrant" (4-class) or "joint" (both heads, summed losses)
    lr: float = 3e-4
    weight_decay: float = 1e-4
    batch_size: int = 32
    max_epochs: int = 50
    early_stop_patience: int = 8
    plateau_factor: float = 0.2
    plateau_patience: int = 3
    grad_clip: float = 1.0
    val_fraction: float = 0.2
    seed: int = 0
    tag_loss: str = "listnet"  # or "listmle"
    tag_loss_weight: float = 1.0
    quadrant_loss_weight: float = 1.0
    crop_frames: int | None = 938  # random ~15 s mel crops while training (augmentation); None = full clips
    spec_augment: bool = False  # one random band mask (<= 8 of 48) and two time masks (<= 10 % each) per clip
    branch_dropout: float = 0.5
    mixup_alpha: float = 0.0  # > 0: mix pairs of clips (all inputs and both losses) with Beta(alpha, alpha) weights
    label_smoothing: float = 0.0  # for the quadrant cross-entropy
    schedule: str = "plateau"  # "plateau" (ReduceLROnPlateau + early stopping) or "onecycle" (OneCycleLR to max_epochs)
    mel_norm: str = "global"  # "global": one mean/std over all mel values; "band": one mean/std per mel band
    lowlevel_clip: float | None = None  # clip low-level z-scores to +-this (a near-constant descriptor can explode)
    folds: int = 0  # > 1: validate on fold `fold` of a stratified k-fold split (fixed split_seed), not a random 20 %
    fold: int = 0
    split_seed: int = 0
    pretrained: str = "muq"  # embedding the "muq" branch takes: "muq" (1024-d) or "musicnn" (250-d)
    # genre input while training: "metadata" (labels.csv), "audio" (inferred from MusiCNN tags) or "mix" (each clip
    # of each batch sees the inferred genres with probability genre_mix), so the model does not lean on curated tags
    genre_source: str = "metadata"
    genre_mix: float = 0.5
    device: str | None = None  # None: CUDA when present
    amp: bool = True  # bf16 autocast on CUDA

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        if self.schedule not in ("plateau", "onecycle"):
            raise ValueError(f"schedule must be 'plateau' or 'onecycle', got {self.schedule!r}")
        if self.mel_norm not in ("global", "band"):
            raise ValueError(f"mel_norm must be 'global' or 'band', got {self.mel_norm!r}")
        if self.genre_source not in ("metadata", "audio", "mix"):
            raise ValueError(f"genre_source must be 'metadata', 'audio' or 'mix', got {self.genre_source!r}")
        if self.folds > 1 and not 0 <= self.fold < self.folds:
            raise ValueError(f"fold must be in 0..{self.folds - 1}, got {self.fold}")
        self.branches = tuple(self.branches)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["branches"] = list(self.branches)
        return data


@dataclass
class TrainResult:
    model: QuadFusionNet
    model_config: ModelConfig
    normalization: dict[str, dict[str, Any]]
    config: TrainConfig
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    val_metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def pick_device(name: str | None = None) -> torch.device:
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _loss(
    out: dict[str, torch.Tensor],
    rel: torch.Tensor,
    quad: torch.Tensor,
    cfg: TrainConfig,
    class_weights: torch.Tensor | None,
) -> torch.Tensor:
    total = torch.zeros((), device=rel.device)
    if "tag_logits" in out:
        fn = listnet_loss if cfg.tag_loss == "listnet" else listmle_loss
        total = total + cfg.tag_loss_weight * fn(out["tag_logits"].float(), rel)
    if "quadrant_logits" in out:
        total = total + cfg.quadrant_loss_weight * weighted_cross_entropy(
            out["quadrant_logits"].float(), quad, class_weights, label_smoothing=cfg.label_smoothing
        )
    return total


def _task_rows(arrays: FeatureArrays, task: str) -> np.ndarray:
    """Clips usable for the task: the ranking-only task drops clips whose moods map to no tag."""
    if task == "tags":
        return np.flatnonzero(arrays.has_tags)
    return np.arange(len(arrays))


def fit(
    train: FeatureArrays,
    cfg: TrainConfig,
    *,
    val: FeatureArrays | None = None,
    show_bar: bool = True,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train one model; `val` defaults to a stratified 20 % hold-out of `train`. Returns the best-val-loss weights."""
    started = time.monotonic()
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    rows = _task_rows(train, cfg.task)
    train = train.subset(rows)
    if val is None and cfg.folds > 1:
        fold_id = stratified_folds(train.quadrant, cfg.folds, cfg.split_seed)
        keep, held = np.flatnonzero(fold_id != cfg.fold), np.flatnonzero(fold_id == cfg.fold)
        train, val = train.subset(keep), train.subset(held)
    elif val is None:
        keep, held = stratified_split(train.quadrant, cfg.val_fraction, cfg.seed)
        train, val = train.subset(keep), train.subset(held)
    else:
        val = val.subset(_task_rows(val, cfg.task))
    if len(train) < 2 or len(val) < 1:
        raise ValueError(f"too few clips to train: {len(train)} train, {len(val)} validation")

    norm = compute_normalization(
        train, cfg.branches, mel_norm=cfg.mel_norm, lowlevel_clip=cfg.lowlevel_clip, pretrained=cfg.pretrained
    )
    mel_frames = int(train.mel.shape[2]) if "mel" in cfg.branches and train.mel is not None else None
    pre = train.pretrained(cfg.pretrained) if "muq" in cfg.branches else None
    model_cfg = ModelConfig(
        branches=cfg.branches,
        n_genres=int(train.genre.shape[1]),
        heads=TASKS[cfg.task],
        mel_frames=mel_frames,
        branch_dropout=cfg.branch_dropout,
        pretrained=cfg.pretrained,
        muq_dim=int(pre.shape[1]) if pre is not None else None,
    )
    model = QuadFusionNet(model_cfg).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    tr, va = (
        DeviceData(a, norm, cfg.branches, device, cfg.pretrained, cfg.genre_source, cfg.genre_mix) for a in (train, val)
    )
    counts = np.bincount(train.quadrant, minlength=4)
    class_weights = class_weights_from_counts(counts).to(device) if "quadrant" in model_cfg.heads else None

    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    use_amp = cfg.amp and device.type == "cuda"
    crop = cfg.crop_frames if mel_frames and cfg.crop_frames and cfg.crop_frames < mel_frames else None

    def batch_loss(idx: torch.Tensor, epoch: int, start: int) -> torch.Tensor:
        inputs = tr.batch(idx, crop, gen, cfg.spec_augment, mix_genres=True)
        lam, partner = 1.0, None
        if cfg.mixup_alpha > 0:
            rng = np.random.default_rng(cfg.seed * 100003 + epoch * 1009 + start)
            lam = float(rng.beta(cfg.mixup_alpha, cfg.mixup_alpha))
            partner = torch.randperm(len(idx), device=device, generator=gen)
            inputs = {k: lam * v + (1.0 - lam) * v[partner] for k, v in inputs.items()}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = model(**inputs)
        loss = _loss(out, tr.relevance[idx], tr.quadrant[idx], cfg, class_weights)
        if partner is not None:
            mixed = _loss(out, tr.relevance[idx][partner], tr.quadrant[idx][partner], cfg, class_weights)
            loss = lam * loss + (1.0 - lam) * mixed
        return loss

    loop = train_loop(
        model,
        tr.n,
        cfg,
        batch_loss=batch_loss,
        val_loss=lambda: _val_loss(model, va, cfg, class_weights, use_amp),
        generator=gen,
        desc=f"{'+'.join(cfg.branches)} {cfg.task} s{cfg.seed}",
        show_bar=show_bar,
    )
    best_loss, best_epoch = loop.best_val_loss, loop.best_epoch
    model = model.to(memory_format=torch.contiguous_format)
    model.eval()
    val_metrics = score_predictions(val.relevance, val.quadrant, predict_tensors(model, va, amp=cfg.amp))
    val_metrics["val_loss"] = best_loss
    if log:
        log(
            f"{'+'.join(cfg.branches)} {cfg.task} seed {cfg.seed}: best epoch {best_epoch}, "
            f"val loss {best_loss:.4f}, {val_metrics}"
        )
    return TrainResult(
        model=model,
        model_config=model_cfg,
        normalization=norm,
        config=cfg,
        best_epoch=best_epoch,
        best_val_loss=best_loss,
        history=loop.history,
        val_metrics=val_metrics,
        seconds=time.monotonic() - started,
    )


@torch.no_grad()
def _val_loss(model: QuadFusionNet, data: DeviceData, cfg: TrainConfig, class_weights, use_amp: bool) -> float:
    """Mean validation loss; with mixed genre sources, the mean over both (metadata and inferred genres)."""
    model.eval()
    total, weight = 0.0, 0
    for start in range(0, data.n, 64):
        idx = torch.arange(start, min(start + 64, data.n), device=data.relevance.device)
        batch = data.batch(idx)
        variants = [batch] if data.genre_alt is None else [batch, {**batch, "genre": data.genre_alt[idx]}]
        for inputs in variants:
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                out = model(**inputs)
            total += float(_loss(out, data.relevance[idx], data.quadrant[idx], cfg, class_weights)) * len(idx)
            weight += len(idx)
    return total / max(weight, 1)


def validation_arrays(train: FeatureArrays, cfg: TrainConfig) -> FeatureArrays:
    """The validation clips `fit(train, cfg)` holds out (same rules, same seed), e.g. for out-of-fold predictions."""
    train = train.subset(_task_rows(train, cfg.task))
    if cfg.folds > 1:
        return train.subset(np.flatnonzero(stratified_folds(train.quadrant, cfg.folds, cfg.split_seed) == cfg.fold))
    return train.subset(stratified_split(train.quadrant, cfg.val_fraction, cfg.seed)[1])


def checkpoint_meta(
    result: TrainResult,
    *,
    dataset: str,
    extra_training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    genres: list[str] | None = None,
    extractor_version: str | None = None,
) -> dict[str, Any]:
    """The meta dict core.checkpoint.save_checkpoint wants, with the recipe recorded under 'training'.

    `genres`/`extractor_version` default to the running code's; pass them when training from a packed feature
    file on a machine without the audio stack (they are stored in the pack).
    """
    from core.emotions import TAGS

    if genres is None:
        from core.features.genre import GENRES as genres
    if extractor_version is None:
        from core.features.track import EXTRACTOR_VERSION as extractor_version

    training = {
        "config": result.config.to_dict(),
        "dataset": dataset,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "epochs_run": len(result.history),
        "seconds": round(result.seconds, 1),
    }
    training.update(extra_training or {})
    return {
        "tags": list(TAGS),
        "genres": list(genres),
        "normalization": result.normalization,
        "extractor_version": str(extractor_version),
        "training": training,
        "metrics": {"validation": result.val_metrics, **(metrics or {})},
    }
