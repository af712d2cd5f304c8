"""Baselines that QuadFusionNet must beat (docs/results.md):

* random: uniformly random tag scores / quadrant guesses;
* popularity prior: every clip gets the same tag ranking, by tag frequency in the training clips;
* triplet network (after Won et al. 2021): a mel CNN maps a clip and a learned embedding per label into one
  space; a triplet loss pulls each clip towards a label it has and away from one it lacks, and labels are
  ranked by cosine similarity (quadrants: the nearest of the 4 quadrant embeddings);
* MLP + SMOTETomek: a scikit-learn MLP on hand-crafted features (low-level + interpretive descriptors, genre,
  per-band mel mean/std), trained on a SMOTETomek-resampled training set (4-class only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.datasets import FeatureArrays, stratified_split
from core.losses import triplet_loss
from core.metrics import macro_f1, ndcg_at_k
from core.model import MelCNN
from core.train import DeviceData, TrainConfig, compute_normalization, pick_device, seed_everything
from core.train_loop import train_loop


def _ranked(relevance: np.ndarray) -> np.ndarray:
    return relevance.sum(axis=1) > 0


def random_baseline(test: FeatureArrays, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    has = _ranked(test.relevance)
    ndcg = ndcg_at_k(test.relevance[has], rng.random((int(has.sum()), test.relevance.shape[1])), k=3)
    f1, per_class = macro_f1(test.quadrant, rng.integers(0, 4, len(test)), 4)
    return {"ndcg@3": ndcg, "macro_f1": f1, "per_class_f1": per_class.tolist()}


def popularity_prior(train: FeatureArrays, test: FeatureArrays) -> dict[str, Any]:
    """Tags ranked by how many training clips carry them; quadrant = the most frequent training quadrant."""
    freq = (train.relevance > 0).mean(axis=0)
    has = _ranked(test.relevance)
    scores = np.broadcast_to(freq, (int(has.sum()), len(freq)))
    majority = int(np.bincount(train.quadrant, minlength=4).argmax())
    f1, per_class = macro_f1(test.quadrant, np.full(len(test), majority), 4)
    return {
        "ndcg@3": ndcg_at_k(test.relevance[has], scores, k=3),
        "macro_f1": f1,
        "per_class_f1": per_class.tolist(),
        "tag_frequency": freq.tolist(),
    }


# -- triplet network ---------------------------------------------------------------------------------------------


class TripletNet(nn.Module):
    def __init__(self, n_labels: int, dim: int = 128) -> None:
        super().__init__()
        self.encoder = MelCNN()
        self.project = nn.Linear(256, dim)
        self.labels = nn.Embedding(n_labels, dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.project(self.encoder(mel.unsqueeze(1) if mel.dim() == 3 else mel))

    def scores(self, mel: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each clip with every label embedding: (B, n_labels)."""
        return F.normalize(self(mel), dim=1) @ F.normalize(self.labels.weight, dim=1).T


def _sample_pairs(targets: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One positive label (probability ∝ relevance) and one negative label (uniform over absent ones) per row."""
    pos = torch.multinomial(targets, 1, generator=gen).squeeze(1)
    neg = torch.multinomial((targets <= 0).float() + 1e-12 * (targets > 0).float(), 1, generator=gen).squeeze(1)
    return pos, neg


def _triplet_batch_loss(
    model: TripletNet, mel: torch.Tensor, targets: torch.Tensor, gen: torch.Generator, margin: float
) -> torch.Tensor:
    emb = model(mel).float()
    pos, neg = _sample_pairs(targets, gen)
    return triplet_loss(emb, model.labels(pos).float(), model.labels(neg).float(), margin=margin, distance="cosine")


def train_triplet(
    train: FeatureArrays,
    test: FeatureArrays,
    task: str,
    cfg: TrainConfig,
    *,
    margin: float = 0.4,
    show_bar: bool = False,
) -> dict[str, Any]:
    """Train on `train` (20 % stratified validation hold-out) with QuadFusionNet's loop and recipe (core.train_loop;
    only the batch loss and the validation loss differ), then score `test`."""
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    if task == "tags":
        train, test = (
            train.subset(np.flatnonzero(_ranked(train.relevance))),
            test.subset(np.flatnonzero(_ranked(test.relevance))),
        )
    keep, held = stratified_split(train.quadrant, cfg.val_fraction, cfg.seed)
    tr_a, va_a = train.subset(keep), train.subset(held)
    norm = compute_normalization(tr_a, ("mel",))
    tr, va, te = (DeviceData(a, norm, ("mel",), device) for a in (tr_a, va_a, test))

    def targets(d: DeviceData) -> torch.Tensor:
        return d.relevance if task == "tags" else F.one_hot(d.quadrant, 4).float()

    n_labels = tr.relevance.shape[1] if task == "tags" else 4
    model = TripletNet(n_labels).to(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    use_amp = cfg.amp and device.type == "cuda"
    crop = cfg.crop_frames if cfg.crop_frames and cfg.crop_frames < tr.inputs["mel"].shape[2] else None

    def batch_loss(idx: torch.Tensor, epoch: int, start: int) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            return _triplet_batch_loss(model, tr.batch(idx, crop, gen)["mel"], targets(tr)[idx], gen, margin)

    def val_loss() -> float:
        val_gen = torch.Generator(device=device)
        val_gen.manual_seed(12345)  # the same validation triplets every epoch
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            losses = [
                float(_triplet_batch_loss(model, va.batch(idx)["mel"], targets(va)[idx], val_gen, margin)) * len(idx)
                for idx in torch.arange(va.n, device=device).split(64)
            ]
        return sum(losses) / va.n

    loop = train_loop(
        model,
        tr.n,
        cfg,
        batch_loss=batch_loss,
        val_loss=val_loss,
        generator=gen,
        desc=f"triplet {task} s{cfg.seed}",
        show_bar=show_bar,
    )
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
        scores = torch.cat(
            [model.scores(te.batch(idx)["mel"]).float() for idx in torch.arange(te.n, device=device).split(64)]
        )
    scores = scores.cpu().numpy()
    out: dict[str, Any] = {"best_epoch": loop.best_epoch, "val_loss": loop.best_val_loss}
    if task == "tags":
        out["ndcg@3"] = ndcg_at_k(test.relevance, scores, k=3)
    else:
        f1, per_class = macro_f1(test.quadrant, scores.argmax(axis=1), 4)
        out.update(macro_f1=f1, per_class_f1=per_class.tolist())
    return out


# -- MLP + SMOTETomek --------------------------------------------------------------------------------------------


def handcrafted_features(arrays: FeatureArrays) -> np.ndarray:
    """Low-level + interpretive descriptors, genre multi-hot and per-band mel mean/std over the real frames."""
    parts = [arrays.lowlevel, arrays.genre]
    if arrays.interpretive is not None:
        parts.append(arrays.interpretive)
    if arrays.mel is not None and arrays.mel_lengths is not None:
        stats = []
        for m, n in zip(arrays.mel, arrays.mel_lengths):
            real = m[:, : int(n)]
            stats.append(np.concatenate([real.mean(axis=1), real.std(axis=1)]))
        parts.append(np.stack(stats))
    return np.concatenate(parts, axis=1).astype(np.float64)


def mlp_smotetomek(train: FeatureArrays, test: FeatureArrays, seed: int) -> dict[str, Any]:
    from imblearn.combine import SMOTETomek
    from imblearn.over_sampling import SMOTE
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(handcrafted_features(train))
    x_tr = np.nan_to_num(scaler.transform(handcrafted_features(train)))
    x_te = np.nan_to_num(scaler.transform(handcrafted_features(test)))
    smallest = int(np.bincount(train.quadrant, minlength=4)[np.unique(train.quadrant)].min())
    if smallest >= 2:  # SMOTE needs a neighbour inside the smallest class
        smote = SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed)
        x_res, y_res = SMOTETomek(smote=smote, random_state=seed).fit_resample(x_tr, train.quadrant)
    else:
        x_res, y_res = x_tr, train.quadrant
    clf = MLPClassifier(
        hidden_layer_sizes=(128, 64),
        alpha=1e-3,
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=500,
        random_state=seed,
    )
    clf.fit(x_res, y_res)
    f1, per_class = macro_f1(test.quadrant, clf.predict(x_te), 4)
    return {
        "macro_f1": f1,
        "per_class_f1": per_class.tolist(),
        "n_features": int(x_tr.shape[1]),
        "n_resampled": int(len(y_res)),
    }
