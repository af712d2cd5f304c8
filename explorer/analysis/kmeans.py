"""A small, deterministic Lloyd K-means in numpy (k-means++ seeding, fixed restarts).

Written here rather than calling scikit-learn because the map re-clusters for K = 2..6 on every filter change: at
a few thousand points scikit-learn's per-call set-up dominates, while this loop is a handful of BLAS products.
Same seed and same rows give the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KMeansResult:
    labels: np.ndarray  # (N,) int64
    centroids: np.ndarray  # (K, D) float32
    inertia: float  # sum of squared distances to the own centroid
    iterations: int


def sq_distances(x: np.ndarray, x_sq: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, K) squared Euclidean distances, via one matrix product; clipped at 0 against rounding."""
    d2 = x_sq[:, None] - 2.0 * (x @ centroids.T) + np.einsum("kd,kd->k", centroids, centroids)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def _kmeans_pp(x: np.ndarray, x_sq: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    centroids = np.empty((k, x.shape[1]), dtype=x.dtype)
    centroids[0] = x[rng.integers(n)]
    closest = sq_distances(x, x_sq, centroids[:1])[:, 0].astype(np.float64)
    for j in range(1, k):
        total = closest.sum()
        if total <= 0.0:
            i = int(rng.integers(n))
        else:
            i = int(np.searchsorted(np.cumsum(closest), rng.random() * total, side="right"))
            i = min(i, n - 1)
        centroids[j] = x[i]
        closest = np.minimum(closest, sq_distances(x, x_sq, centroids[j : j + 1])[:, 0])
    return centroids


def lloyd(
    x: np.ndarray, centroids: np.ndarray, *, max_iter: int = 100, tol: float = 1e-4, x_sq: np.ndarray | None = None,
    mean_var: float | None = None,
) -> KMeansResult:
    """Lloyd iterations from given centroids. An emptied cluster is re-seeded with the point farthest from its own
    centroid, so K clusters always come back when there are at least K distinct points."""
    x = np.asarray(x, dtype=np.float32)
    n, d = x.shape
    k = centroids.shape[0]
    if x_sq is None:
        x_sq = np.einsum("nd,nd->n", x, x)
    if mean_var is None:
        mean_var = float(np.mean(np.var(x, axis=0))) if n > 1 else 0.0
    tol_abs = tol * mean_var
    c = np.array(centroids, dtype=np.float32, copy=True)
    one_hot = np.zeros((n, k), dtype=np.float32)
    rows = np.arange(n)
    it = 0
    for it in range(1, max_iter + 1):
        d2 = sq_distances(x, x_sq, c)
        labels = d2.argmin(axis=1)
        counts = np.bincount(labels, minlength=k)
        one_hot[:] = 0.0
        one_hot[rows, labels] = 1.0
        new = one_hot.T @ x
        if (counts == 0).any():
            own = d2[rows, labels]
            for j in np.flatnonzero(counts == 0):
                far = int(np.argmax(own))
                new[j] = x[far]
                counts[j] = 1
                own[far] = -1.0
        new /= counts[:, None].astype(np.float32)
        shift = float(((new - c) ** 2).sum())
        c = new
        if shift <= tol_abs:
            break
    d2 = sq_distances(x, x_sq, c)
    labels = d2.argmin(axis=1).astype(np.int64)
    inertia = float(d2[rows, labels].sum())
    return KMeansResult(labels, c, inertia, it)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 3, max_iter: int = 100,
           mean_var: float | None = None) -> KMeansResult:
    """Best of `n_init` k-means++ restarts (lowest inertia); restart r uses seed (seed, r).
    `mean_var` (mean per-dimension variance, sets the convergence tolerance) may be passed to save a pass."""
    x = np.asarray(x, dtype=np.float32)
    x_sq = np.einsum("nd,nd->n", x, x)
    if mean_var is None:
        mean_var = float(np.mean(np.var(x, axis=0))) if len(x) > 1 else 0.0
    best: KMeansResult | None = None
    for r in range(max(1, n_init)):
        rng = np.random.default_rng([seed, r])
        result = lloyd(x, _kmeans_pp(x, x_sq, k, rng), max_iter=max_iter, x_sq=x_sq, mean_var=mean_var)
        if best is None or result.inertia < best.inertia - 1e-9 * max(best.inertia, 1.0):
            best = result
    assert best is not None
    return best
