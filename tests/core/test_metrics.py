"""Metrics agree with scikit-learn on many random cases, ties and empty queries included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, ndcg_score

from core.metrics import confusion_matrix, macro_f1, ndcg_at_k, ndcg_per_query


@pytest.mark.parametrize("seed", range(40))
def test_ndcg_matches_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, L = int(rng.integers(1, 30)), int(rng.integers(2, 14))
    rel = rng.integers(0, 4, size=(n, L)).astype(float) * (rng.random((n, L)) < 0.5)
    rel[rng.random(n) < 0.2] = 0.0  # some queries with no relevant tag
    scores = rng.integers(0, 4, size=(n, L)).astype(float) if seed % 2 else rng.normal(size=(n, L))
    if seed % 5 == 0:
        scores[:, : L // 2] = scores[:, :1]  # long tie runs
    for k in (1, 3, 5, None):
        expected = ndcg_score(rel, scores, k=k)
        assert ndcg_at_k(rel, scores, k=k) == pytest.approx(expected, abs=1e-12)


def test_ndcg_known_values_and_empty_rows() -> None:
    rel = np.array([[3, 2, 0, 0], [0, 0, 0, 0]], float)
    perfect = np.array([[4, 3, 2, 1], [1, 2, 3, 4]], float)
    per = ndcg_per_query(rel, perfect, k=3)
    assert per.tolist() == [1.0, 0.0]  # sklearn: a query with no relevant item scores 0
    assert ndcg_at_k(rel, perfect, k=3) == pytest.approx(0.5)
    assert ndcg_at_k(rel, perfect, k=3, skip_empty=True) == pytest.approx(1.0)
    # swapped top two: DCG = 2 + 3/log2(3); IDCG = 3 + 2/log2(3)
    swapped = np.array([[3, 4, 2, 1]], float)
    want = (2 + 3 / np.log2(3)) / (3 + 2 / np.log2(3))
    assert ndcg_at_k(rel[:1], swapped, k=3) == pytest.approx(want)
    # all scores tied: every position gets the mean gain 5/4
    tied = np.zeros((1, 4))
    want = (1.25 * (1 + 1 / np.log2(3) + 0.5)) / (3 + 2 / np.log2(3))
    assert ndcg_at_k(rel[:1], tied, k=3) == pytest.approx(want)


def test_ndcg_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ndcg_at_k(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        ndcg_at_k(-np.ones((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        ndcg_at_k(np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError):
        ndcg_at_k(np.zeros((2, 3)), np.zeros((2, 3)), skip_empty=True)
    with pytest.raises(ValueError, match="finite"):
        ndcg_at_k(np.ones((1, 3)), np.array([[0.0, np.nan, 1.0]]))


@pytest.mark.parametrize("seed", range(40))
def test_macro_f1_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 6))
    n = int(rng.integers(1, 60))
    # restrict labels sometimes so that some classes never occur (F1 = 0, still averaged)
    high = n_classes if seed % 3 else max(1, n_classes - 2)
    y_true = rng.integers(0, high, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    macro, per_class = macro_f1(y_true, y_pred, n_classes)
    labels = list(range(n_classes))
    assert per_class == pytest.approx(f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0))
    assert macro == pytest.approx(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def test_macro_f1_hand_value_and_errors() -> None:
    macro, per = macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 3)
    assert per.tolist() == pytest.approx([2 / 3, 0.8, 0.0])
    assert macro == pytest.approx((2 / 3 + 0.8) / 3)
    assert confusion_matrix([0, 1], [1, 1], 2).tolist() == [[0, 1], [0, 1]]
    with pytest.raises(ValueError):
        macro_f1([0, 4], [0, 1], 4)
    with pytest.raises(ValueError):
        macro_f1([0, 1], [0], 2)
