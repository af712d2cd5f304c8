"""Evaluation metrics with scikit-learn semantics, vectorised in numpy so evaluation needs no per-row Python.

* `ndcg_at_k` equals `sklearn.metrics.ndcg_score(relevance, scores, k=k)`: tied scores share the average gain of
  their group (ignore_ties=False), and a row with all-zero relevance scores 0 and still counts in the mean.
  `skip_empty=True` drops such rows instead (useful when clips without tags are not meant to be ranked).
* `macro_f1` equals `f1_score(y_true, y_pred, labels=range(n_classes), average=None / "macro", zero_division=0)`.
"""

from __future__ import annotations

import numpy as np


def ndcg_per_query(relevance: np.ndarray, scores: np.ndarray, k: int | None = 3) -> np.ndarray:
    """NDCG@k of every row (N,), with tie-averaged DCG; rows without relevant items get 0."""
    rel = np.asarray(relevance, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    if rel.ndim != 2 or rel.shape != sc.shape:
        raise ValueError(f"relevance and scores must both be (N, L), got {rel.shape} and {sc.shape}")
    if rel.shape[1] < 2:
        raise ValueError("NDCG needs at least 2 items per query")
    if not (np.isfinite(rel).all() and np.isfinite(sc).all()):
        raise ValueError("relevance and scores must be finite")
    if rel.size and rel.min() < 0:
        raise ValueError("relevance must be non-negative")
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n, n_items = rel.shape
    if n == 0:
        return np.zeros(0)
    discount = 1.0 / np.log2(np.arange(n_items) + 2.0)
    if k is not None:
        discount[k:] = 0.0
    discount_cumsum = np.concatenate([[0.0], np.cumsum(discount)])

    # Rank by score (descending); equal scores form a group whose members share the group's mean discount,
    # which is the same as giving each member the group's mean gain (sklearn's tie averaging).
    order = np.argsort(-sc, axis=1, kind="stable")
    sorted_scores = np.take_along_axis(sc, order, axis=1)
    sorted_gain = np.take_along_axis(rel, order, axis=1)
    new_group = np.ones((n, n_items), dtype=bool)
    new_group[:, 1:] = sorted_scores[:, 1:] != sorted_scores[:, :-1]
    pos = np.arange(n_items)
    starts = np.where(new_group, pos, 0)
    starts = np.maximum.accumulate(starts, axis=1)
    ends_rev = np.where(np.flip(np.concatenate([new_group[:, 1:], np.ones((n, 1), bool)], axis=1), axis=1), pos, 0)
    ends = n_items - 1 - np.flip(np.maximum.accumulate(ends_rev, axis=1), axis=1)
    group_size = ends - starts + 1
    mean_discount = (discount_cumsum[ends + 1] - discount_cumsum[starts]) / group_size
    dcg = (sorted_gain * mean_discount).sum(axis=1)

    ideal = -np.sort(-rel, axis=1)
    idcg = (ideal * discount).sum(axis=1)
    out = np.zeros(n)
    nonzero = idcg > 0
    out[nonzero] = dcg[nonzero] / idcg[nonzero]
    return out


def ndcg_at_k(relevance: np.ndarray, scores: np.ndarray, k: int | None = 3, *, skip_empty: bool = False) -> float:
    """Mean NDCG@k over queries (rows); see the module docstring for zero-relevance rows."""
    per_query = ndcg_per_query(relevance, scores, k)
    if skip_empty:
        per_query = per_query[np.asarray(relevance).sum(axis=1) > 0]
    if per_query.size == 0:
        raise ValueError("no queries to average")
    return float(per_query.mean())


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = true class, columns = predicted class."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.shape} vs {p.shape}")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[float, np.ndarray]:
    """(macro F1, per-class F1 array); a class never true nor predicted has F1 0 and still counts in the mean."""
    cm = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # (tp + fp) + (tp + fn)
    per_class = np.divide(2.0 * tp, denom, out=np.zeros(n_classes), where=denom > 0)
    return float(per_class.mean()), per_class
