"""Training losses: listwise tag ranking (ListNet, ListMLE), class-weighted quadrant CE, triplet embedding loss.

Conventions (see docs/model.md):

* `scores` and `relevance` are (B, L) tensors; relevance is graded and non-negative (0 = tag not present).
* A clip with all-zero relevance carries no ranking information and is excluded from the ranking losses
  (as is any row whose `mask` entry is False). A batch with no usable rows gives a zero loss that still
  depends on `scores`, so `backward()` works.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

ListNetTarget = Literal["normalize", "softmax"]
Distance = Literal["cosine", "euclidean"]


def _check_pair(scores: torch.Tensor, relevance: torch.Tensor) -> None:
    if scores.dim() != 2 or scores.shape != relevance.shape:
        raise ValueError(
            f"scores and relevance must both be (B, L), got {tuple(scores.shape)} and {tuple(relevance.shape)}"
        )
    if bool((relevance < 0).any()):
        raise ValueError("relevance must be non-negative")


def _row_mask(relevance: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    valid = relevance.sum(dim=1) > 0
    if mask is not None:
        if mask.shape != valid.shape:
            raise ValueError(f"mask must be (B,), got {tuple(mask.shape)}")
        valid = valid & mask.to(torch.bool)
    return valid


def _masked_mean(per_row: torch.Tensor, valid: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    if not bool(valid.any()):
        return scores.sum() * 0.0
    return per_row[valid].mean()


def listnet_loss(
    scores: torch.Tensor,
    relevance: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    target: ListNetTarget = "normalize",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Top-one ListNet: cross-entropy between a target distribution over tags and softmax(scores).

    target="normalize" (default) uses relevance / sum(relevance): absent tags get zero target mass, which suits
    sparse multi-label emotion tags. target="softmax" is the original ListNet, softmax(relevance / temperature).
    The loss is minimised (for "normalize", down to the target's entropy) when softmax(scores) equals the target,
    so a higher-scored tag is always pushed toward higher relevance.
    """
    _check_pair(scores, relevance)
    relevance = relevance.to(scores.dtype)
    if target == "normalize":
        p_true = relevance / relevance.sum(dim=1, keepdim=True).clamp_min(torch.finfo(scores.dtype).tiny)
    elif target == "softmax":
        p_true = torch.softmax(relevance / temperature, dim=1)
    else:
        raise ValueError(f"unknown ListNet target {target!r}")
    per_row = -(p_true * torch.log_softmax(scores, dim=1)).sum(dim=1)
    return _masked_mean(per_row, _row_mask(relevance, mask), scores)


def listmle_loss(
    scores: torch.Tensor,
    relevance: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    relevant_only: bool = True,
) -> torch.Tensor:
    """ListMLE: negative Plackett-Luce log-likelihood of the list ranked by relevance.

    The ground-truth permutation sorts by relevance descending; ties keep tag-index order (stable sort), so the
    loss is deterministic. With relevant_only=True (default) only the positions of tags with relevance > 0
    contribute terms (a "top-k" ListMLE: the order among absent tags is unknown, so it is not rewarded), while
    each term's normaliser still covers every tag ranked at or below that position.
    """
    _check_pair(scores, relevance)
    order = torch.sort(relevance, dim=1, descending=True, stable=True).indices
    s = scores.gather(1, order)
    r = relevance.gather(1, order)
    # log sum_{j >= i} exp(s_j), computed from the tail with a reversed logcumsumexp.
    tail_lse = torch.flip(torch.logcumsumexp(torch.flip(s, dims=[1]), dim=1), dims=[1])
    terms = tail_lse - s
    if relevant_only:
        terms = terms * (r > 0).to(terms.dtype)
    per_row = terms.sum(dim=1)
    return _masked_mean(per_row, _row_mask(relevance, mask), scores)


def class_weights_from_counts(counts: np.ndarray | list[int] | torch.Tensor) -> torch.Tensor:
    """Inverse-frequency weights w_c = N / (C * n_c), so a balanced set gets all-ones and sum_c n_c w_c = N.

    Classes with no examples get weight 0 (they never appear as targets anyway).
    """
    n = torch.as_tensor(np.asarray(counts, dtype=np.float64), dtype=torch.float32)
    if n.dim() != 1 or n.numel() == 0 or bool((n < 0).any()):
        raise ValueError("counts must be a non-empty 1-D array of non-negative numbers")
    total = float(n.sum())
    if total <= 0:
        raise ValueError("counts sum to zero")
    weights = torch.zeros_like(n)
    present = n > 0
    weights[present] = total / (n.numel() * n[present])
    return weights


def weighted_cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_weights: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Class-weighted cross-entropy (weighted mean, as torch defines it) with optional label smoothing."""
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be (B, C) and targets (B,), got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if class_weights is not None:
        class_weights = class_weights.to(device=logits.device, dtype=logits.dtype)
        if class_weights.shape != logits.shape[1:]:
            raise ValueError(f"class_weights must be ({logits.shape[1]},), got {tuple(class_weights.shape)}")
    return F.cross_entropy(logits, targets.long(), weight=class_weights, label_smoothing=label_smoothing)


def _pairwise_distance(x: torch.Tensor, y: torch.Tensor, distance: Distance) -> torch.Tensor:
    """Row-aligned distances: cosine distance = 1 - cos, or Euclidean distance."""
    if distance == "cosine":
        return 1.0 - F.cosine_similarity(x, y, dim=-1, eps=1e-8)
    if distance == "euclidean":
        return (x - y).pow(2).sum(dim=-1).clamp_min(1e-12).sqrt()
    raise ValueError(f"unknown distance {distance!r}")


def _distance_matrix(x: torch.Tensor, distance: Distance) -> torch.Tensor:
    if distance == "cosine":
        xn = F.normalize(x, dim=1, eps=1e-8)
        return 1.0 - xn @ xn.T
    if distance == "euclidean":
        sq = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1)
        return sq.clamp_min(1e-12).sqrt()
    raise ValueError(f"unknown distance {distance!r}")


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    *,
    margin: float = 0.2,
    distance: Distance = "cosine",
) -> torch.Tensor:
    """mean(max(0, d(a, p) - d(a, n) + margin)) over explicit triplets."""
    if not (anchor.shape == positive.shape == negative.shape) or anchor.dim() != 2:
        raise ValueError("anchor, positive and negative must share a (B, D) shape")
    d_ap = _pairwise_distance(anchor, positive, distance)
    d_an = _pairwise_distance(anchor, negative, distance)
    return F.relu(d_ap - d_an + margin).mean()


def batch_hard_triplet_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    *,
    margin: float = 0.2,
    distance: Distance = "cosine",
) -> torch.Tensor:
    """Batch-hard mining: each anchor uses its farthest same-label and closest other-label example.

    Anchors without a positive or a negative in the batch are skipped; a batch with none gives a zero loss.
    """
    if embeddings.dim() != 2 or labels.shape != embeddings.shape[:1]:
        raise ValueError("embeddings must be (B, D) and labels (B,)")
    dist = _distance_matrix(embeddings, distance)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=embeddings.device)
    pos_mask = same & ~eye
    neg_mask = ~same
    valid = pos_mask.any(1) & neg_mask.any(1)
    if not bool(valid.any()):
        return embeddings.sum() * 0.0
    hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).max(dim=1).values
    hardest_neg = dist.masked_fill(~neg_mask, float("inf")).min(dim=1).values
    return F.relu(hardest_pos[valid] - hardest_neg[valid] + margin).mean()
