"""PCA of the tracks in view to the 2-D map, with a sign convention so the same data always looks the same.

PCA is done by eigen-decomposition of the D x D covariance (D = 128) rather than an SVD of the N x D data: one
matrix product over the rows plus a tiny eigh, which keeps a 100k-track refresh in tens of milliseconds.
Eigenvectors are only defined up to sign, so each axis is flipped until its largest-|loading| entry is positive;
this depends on the covariance alone, hence is unchanged by reordering the rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from explorer.analysis.errors import AnalysisError


@dataclass
class Projection:
    coords: np.ndarray  # (N, n_components) float32
    explained_variance_ratio: np.ndarray  # (n_components,) share of total variance per axis, 0 when undefined
    components: np.ndarray  # (n_components, D) float32 unit loadings (zero rows when the data has too few tracks)
    mean: np.ndarray  # (D,) float32

    def with_products(self, products: np.ndarray) -> Projection:
        """This projection placing rows whose (N, n_components) dot products with `components` are `products`:
        coords = products - components . mean (no centred copy of the rows is ever made). A NaN or inf anywhere in
        a row spreads to its products (even times a zero loading), so non-finite rows are refused here."""
        offset = (self.components.astype(np.float64) @ self.mean.astype(np.float64)).astype(np.float32)
        coords = np.subtract(products, offset[None, :], dtype=np.float32)
        if not np.isfinite(coords).all():
            raise AnalysisError(NOT_FINITE)
        return dataclasses.replace(self, coords=coords)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Place new rows on the same map (e.g. a track added after the map was drawn)."""
        return ((np.asarray(x, dtype=np.float32) - self.mean) @ self.components.T).astype(np.float32)


def orient_components(components: np.ndarray) -> np.ndarray:
    """Flip each row so its largest-magnitude loading is positive (ties resolve to the first index)."""
    comps = np.array(components, dtype=np.float64, copy=True)
    for row in comps:
        if not row.any():
            continue
        j = int(np.argmax(np.abs(row)))
        if row[j] < 0:
            row *= -1.0
    return comps


FIT_MAX_ROWS = 125_000  # more rows than this: the axes are fitted on every k-th row (all rows are projected)
NOT_FINITE = "embeddings contain NaN or infinite values"
CHUNK = 8192  # rows per block: the centred block stays in cache instead of a full centred copy of the data


def _mean_and_covariance(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and the D x D covariance, in row blocks: float32 products (fast BLAS) summed in float64."""
    n, d = data.shape
    total = np.zeros(d)
    for start in range(0, n, CHUNK):
        total += data[start : start + CHUNK].sum(axis=0)
    mean = total / n
    mean32 = mean.astype(np.float32)
    cov = np.zeros((d, d))
    for start in range(0, n, CHUNK):
        block = data[start : start + CHUNK] - mean32
        cov += block.T @ block
    return mean, cov / max(n - 1, 1)


def project_pca(x: np.ndarray, n_components: int = 2) -> Projection:
    """Project (N, D) rows onto their first `n_components` principal axes.

    N = 0 gives an empty map; N = 1 sits at the origin; N = 2 spreads along the first axis only. Axes beyond the
    data's rank get zero loadings and zero explained variance instead of arbitrary eigenvectors."""
    fit = fit_pca(x, n_components)
    data = np.asarray(x, dtype=np.float32)
    if not len(data):
        return fit
    return fit.with_products(np.stack([data @ axis for axis in fit.components], axis=1))


def fit_pca(x: np.ndarray, n_components: int = 2) -> Projection:
    """The principal axes of (N, D) rows without placing them: a Projection whose `coords` are empty (0 rows)
    until `with_products` is given the rows' dot products with `components` (which a caller may compute in a pass
    over the rows it makes anyway, as the map does with its cluster assignment)."""
    data = np.asarray(x, dtype=np.float32)
    if data.ndim != 2:
        raise AnalysisError(f"embeddings must be (N, D), got shape {data.shape}")
    n, d = data.shape
    if n_components < 1:
        raise AnalysisError("n_components must be >= 1")
    empty = np.zeros((0, n_components), np.float32)
    if n == 0:
        return Projection(
            empty, np.zeros(n_components), np.zeros((n_components, d), np.float32), np.zeros(d, np.float32)
        )
    if n > FIT_MAX_ROWS:  # at 10^6 tracks the covariance was half of a map refresh; every k-th row (a view: no
        # gather of a random sample, which alone cost 60 ms) gives the same axes (|cos| 0.999 to the exact ones on
        # the synthetic 10^6-track library, whose top two eigenvalues are within 4 %) and keeps the map stable
        mean, cov = _mean_and_covariance(np.ascontiguousarray(data[:: -(-n // FIT_MAX_ROWS)]))
    else:
        mean, cov = _mean_and_covariance(data)
    if not np.isfinite(cov).all():
        raise AnalysisError(NOT_FINITE)
    eigvals, eigvecs = np.linalg.eigh(cov)
    order = np.argsort(eigvals)[::-1]
    eigvals = np.clip(eigvals[order], 0.0, None)
    eigvecs = eigvecs[:, order]
    total = float(eigvals.sum())
    rank_tol = max(total, 1e-30) * 1e-9
    comps = np.zeros((n_components, d))
    ratios = np.zeros(n_components)
    for i in range(min(n_components, d)):
        if eigvals[i] > rank_tol and i < n - 1:  # n points span at most n-1 dimensions
            comps[i] = eigvecs[:, i]
            ratios[i] = eigvals[i] / total
    return Projection(empty, ratios, orient_components(comps).astype(np.float32), mean.astype(np.float32))
