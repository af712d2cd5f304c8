"""Losses: hand-computed values, gradients, and the ranking property ListNet is used for."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.losses import (
    batch_hard_triplet_loss,
    class_weights_from_counts,
    listmle_loss,
    listnet_loss,
    triplet_loss,
    weighted_cross_entropy,
)

torch.set_num_threads(1)
T = torch.tensor


def test_listnet_hand_values() -> None:
    assert listnet_loss(T([[0.0, 0.0]]), T([[1.0, 0.0]])).item() == pytest.approx(math.log(2))
    expected = -0.5 * math.log(0.75) - 0.5 * math.log(0.25)
    assert listnet_loss(T([[math.log(3), 0.0]]), T([[2.0, 2.0]])).item() == pytest.approx(expected)
    # original ListNet target: softmax(relevance)
    p = np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()
    assert listnet_loss(T([[0.0, 0.0]]), T([[1.0, 0.0]]), target="softmax").item() == pytest.approx(
        -(p * np.log([0.5, 0.5])).sum()
    )


def test_listnet_masks_untagged_and_masked_rows() -> None:
    scores = T([[0.0, 0.0], [5.0, -5.0], [3.0, 1.0]])
    rel = T([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    both = listnet_loss(scores, rel)  # row 1 has no tags: ignored
    assert both.item() == pytest.approx(
        (listnet_loss(scores[:1], rel[:1]) + listnet_loss(scores[2:], rel[2:])).item() / 2
    )
    only_first = listnet_loss(scores, rel, mask=T([True, True, False]))
    assert only_first.item() == pytest.approx(math.log(2))
    s = scores.clone().requires_grad_()
    empty = listnet_loss(s, torch.zeros_like(rel))
    empty.backward()
    assert empty.item() == 0.0 and torch.all(s.grad == 0)


def test_listnet_minimised_when_order_matches_relevance() -> None:
    rel = T([[3.0, 0.0, 1.0, 2.0]])
    values = [2.0, 1.0, 0.5, -1.0]
    losses = {}
    for perm in itertools.permutations(range(4)):
        scores = torch.zeros(1, 4)
        for item, rank in enumerate(perm):
            scores[0, item] = values[rank]
        losses[perm] = listnet_loss(scores, rel).item()
    best = min(losses, key=losses.get)
    # item 0 (rel 3) gets the top value, item 3 (rel 2) the second, item 2 (rel 1) third, item 1 (rel 0) last
    assert best == (0, 3, 2, 1)
    # and gradient descent from random scores recovers the relevance order
    s = torch.randn(1, 4, generator=torch.Generator().manual_seed(1)).requires_grad_()
    opt = torch.optim.SGD([s], lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        listnet_loss(s, rel).backward()
        opt.step()
    assert torch.argsort(s[0, [0, 2, 3]], descending=True).tolist() == [0, 2, 1]
    assert s[0, 1] == s[0].min()


def test_listmle_hand_values_and_deterministic_ties() -> None:
    zeros = torch.zeros(1, 3)
    assert listmle_loss(zeros, T([[2.0, 1.0, 0.0]])).item() == pytest.approx(math.log(6))
    assert listmle_loss(zeros, T([[2.0, 1.0, 0.0]]), relevant_only=False).item() == pytest.approx(math.log(6))
    assert listmle_loss(zeros, T([[1.0, 0.0, 0.0]])).item() == pytest.approx(math.log(3))
    # ties: items 0 and 1 share relevance; the stable order (0, 1) is the target permutation
    e = math.e
    expected = math.log(e + 2) - 1 + math.log(2)
    assert listmle_loss(T([[1.0, 0.0, 0.0]]), T([[1.0, 1.0, 0.0]])).item() == pytest.approx(expected)
    assert listmle_loss(T([[0.0, 1.0, 0.0]]), T([[1.0, 1.0, 0.0]])).item() == pytest.approx(
        math.log(e + 2) - 0 + math.log(e + 1) - 1
    )


def test_ranking_losses_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 5, dtype=torch.float64, generator=g).requires_grad_()
    rel = torch.tensor([[3, 0, 1, 0, 2], [0, 0, 0, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda s: listnet_loss(s, rel), (scores,))
    assert torch.autograd.gradcheck(lambda s: listnet_loss(s, rel, target="softmax"), (scores,))
    assert torch.autograd.gradcheck(lambda s: listmle_loss(s, rel), (scores,))
    loss = listmle_loss(scores, rel)
    loss.backward()
    assert torch.all(scores.grad[1] == 0), "an untagged clip contributes no gradient"


def test_ranking_losses_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        listnet_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="non-negative"):
        listmle_loss(torch.zeros(1, 2), T([[1.0, -1.0]]))


def test_class_weights_from_counts() -> None:
    w = class_weights_from_counts([10, 30, 0, 60])
    assert w.tolist() == pytest.approx([2.5, 100 / 120, 0.0, 100 / 240])
    assert class_weights_from_counts([5, 5, 5, 5]).tolist() == pytest.approx([1, 1, 1, 1])
    with pytest.raises(ValueError):
        class_weights_from_counts([0, 0])


def test_weighted_cross_entropy_matches_hand_formula() -> None:
    logits = T([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 3.0]])
    y = T([0, 1, 2])
    w = T([1.0, 2.0, 0.5])
    nll = -F.log_softmax(logits, 1)[torch.arange(3), y]
    expected = (w[y] * nll).sum() / w[y].sum()
    assert weighted_cross_entropy(logits, y, w).item() == pytest.approx(expected.item())
    # label smoothing eps: (1 - eps) * nll + eps * mean over classes of -log p
    eps = 0.1
    logp = F.log_softmax(logits, 1)
    smooth = ((1 - eps) * nll + eps * (-logp).mean(1)).mean()
    assert weighted_cross_entropy(logits, y, label_smoothing=eps).item() == pytest.approx(smooth.item())


def test_triplet_hand_values() -> None:
    a, p, n = T([[1.0, 0.0]]), T([[2.0, 0.0]]), T([[0.0, 1.0]])
    assert triplet_loss(a, p, n).item() == pytest.approx(0.0)
    assert triplet_loss(a, n, p).item() == pytest.approx(1.2)
    z = torch.zeros(1, 2)
    assert triplet_loss(z, T([[3.0, 4.0]]), T([[1.0, 0.0]]), margin=0.5, distance="euclidean").item() == pytest.approx(
        4.5
    )


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_batch_hard_matches_brute_force(distance: str) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(10, 6, generator=g)
    labels = T([0, 0, 1, 1, 1, 2, 2, 3, 0, 1])  # label 3 has no positive: that anchor is skipped
    terms = []
    for i in range(10):
        pos = [j for j in range(10) if j != i and labels[j] == labels[i]]
        neg = [j for j in range(10) if labels[j] != labels[i]]
        if not pos:
            continue
        d = (
            (lambda u, v: 1 - F.cosine_similarity(u, v, dim=0))
            if distance == "cosine"
            else (lambda u, v: (u - v).norm())
        )
        terms.append(max(0.0, max(d(x[i], x[j]).item() for j in pos) - min(d(x[i], x[j]).item() for j in neg) + 0.3))
    got = batch_hard_triplet_loss(x, labels, margin=0.3, distance=distance).item()
    assert got == pytest.approx(sum(terms) / len(terms), abs=1e-5)
    xr = x.clone().requires_grad_()
    batch_hard_triplet_loss(xr, labels, margin=0.3, distance=distance).backward()
    assert torch.isfinite(xr.grad).all()
    assert batch_hard_triplet_loss(x, torch.zeros(10), distance=distance).item() == 0.0
