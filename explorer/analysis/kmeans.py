"""A small, deterministic Lloyd K-means in numpy (k-means++ seeding, fixed restarts run side by side).

Written here rather than calling scikit-learn because the map re-clusters for K = 2..6 on every filter change: at
a few thousand points scikit-learn's per-call set-up dominates, while this loop is a handful of BLAS products.
The restarts advance in lockstep, so each Lloyd step reads the data once for all of them (a restart that has
converged stays frozen). Same seed and same rows give the same result.
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
    # a contiguous (D, K) right operand: OpenBLAS is faster than with the transposed view for small K
    d2 = x @ np.ascontiguousarray(centroids.T)
    d2 *= -2.0
    d2 += x_sq[:, None]
    d2 += np.einsum("kd,kd->k", centroids, centroids)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def _kmeans_pp(x: np.ndarray, x_sq: np.ndarray, k: int, rngs: list[np.random.Generator]) -> np.ndarray:
    """(R, k, D) k-means++ seeds, one set per generator; the R candidates of a step share one pass over x."""
    n = x.shape[0]
    r = len(rngs)
    centroids = np.empty((r, k, x.shape[1]), dtype=x.dtype)
    centroids[:, 0] = x[[int(g.integers(n)) for g in rngs]]
    closest = sq_distances(x, x_sq, centroids[:, 0]).astype(np.float64)  # (N, R)
    for j in range(1, k):
        for i, g in enumerate(rngs):
            weights = closest[:, i]
            total = weights.sum()
            if total <= 0.0:
                pick = int(g.integers(n))
            else:
                pick = min(int(np.searchsorted(np.cumsum(weights), g.random() * total, side="right")), n - 1)
            centroids[i, j] = x[pick]
        np.minimum(closest, sq_distances(x, x_sq, centroids[:, j]), out=closest)
    return centroids


def _lloyd_batch(
    x: np.ndarray, x_sq: np.ndarray, inits: np.ndarray, max_iter: int, tol_abs: float
) -> list[KMeansResult]:
    """Lloyd iterations for R initial centroid sets (R, K, D) at once. An emptied cluster is re-seeded with the
    point farthest from its own centroid, so K clusters come back when there are at least K distinct points."""
    n = x.shape[0]
    r, k, d = inits.shape
    c = np.array(inits, dtype=np.float32).reshape(r * k, d)
    offset = (np.arange(r) * k)[None, :]
    rows = np.arange(n)
    active = np.ones(r, dtype=bool)
    iterations = np.zeros(r, dtype=np.int64)
    one_hot = np.zeros((n, r * k), dtype=np.float32)
    for _ in range(max_iter):
        d2 = sq_distances(x, x_sq, c)
        cols = d2.reshape(n, r, k).argmin(axis=2) + offset  # (N, R) column of each point's own centroid
        one_hot[:] = 0.0
        one_hot[rows[:, None], cols] = 1.0
        counts = np.bincount(cols.ravel(), minlength=r * k)
        new = one_hot.T @ x
        if (counts == 0).any():
            own_by_restart: dict[int, np.ndarray] = {}
            for col in np.flatnonzero(counts == 0):
                i = int(col) // k
                if i not in own_by_restart:
                    own_by_restart[i] = d2[rows, cols[:, i]].copy()
                own = own_by_restart[i]
                far = int(np.argmax(own))
                new[col] = x[far]
                counts[col] = 1
                own[far] = -1.0  # a second empty cluster of this restart takes the next-farthest point
        new /= counts[:, None].astype(np.float32)
        shift = ((new - c) ** 2).reshape(r, k * d).sum(axis=1)
        frozen = np.repeat(~active, k)
        new[frozen] = c[frozen]
        c = new
        iterations[active] += 1
        active &= shift > tol_abs
        if not active.any():
            break
    d2 = sq_distances(x, x_sq, c).reshape(n, r, k)
    labels = d2.argmin(axis=2)  # (N, R)
    results = []
    for i in range(r):
        lab = labels[:, i].astype(np.int64)
        inertia = float(d2[rows, i, lab].sum())
        results.append(KMeansResult(lab, c[i * k : (i + 1) * k].copy(), inertia, int(iterations[i])))
    return results


def _tolerance(x: np.ndarray, tol: float, mean_var: float | None) -> float:
    if mean_var is None:
        mean_var = float(np.mean(np.var(x, axis=0))) if len(x) > 1 else 0.0
    return tol * mean_var


def lloyd(
    x: np.ndarray,
    centroids: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    x_sq: np.ndarray | None = None,
    mean_var: float | None = None,
) -> KMeansResult:
    """Lloyd iterations from given (K, D) centroids until the centroids move less than tol x mean variance."""
    x = np.asarray(x, dtype=np.float32)
    if x_sq is None:
        x_sq = np.einsum("nd,nd->n", x, x)
    return _lloyd_batch(x, x_sq, centroids[None], max_iter, _tolerance(x, tol, mean_var))[0]


def kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 3, max_iter: int = 100, mean_var: float | None = None
) -> KMeansResult:
    """Best of `n_init` k-means++ restarts (lowest inertia; ties: the earliest); restart r draws from seed (seed, r).
    `mean_var` (mean per-dimension variance, sets the convergence tolerance) may be passed to save a pass."""
    x = np.asarray(x, dtype=np.float32)
    x_sq = np.einsum("nd,nd->n", x, x)
    rngs = [np.random.default_rng([seed, r]) for r in range(max(1, n_init))]
    results = _lloyd_batch(x, x_sq, _kmeans_pp(x, x_sq, k, rngs), max_iter, _tolerance(x, 1e-4, mean_var))
    best = results[0]
    for result in results[1:]:
        if result.inertia < best.inertia - 1e-9 * max(best.inertia, 1.0):
            best = result
    return best
