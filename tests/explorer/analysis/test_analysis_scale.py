"""Maps with more tracks than FIT_MAX_ROWS fit their PCA axes on a fixed sample and still place every track."""

from __future__ import annotations

import numpy as np

from explorer.analysis import projection
from synthetic import synthetic_library


def test_sampled_pca_fit(monkeypatch):
    emb = synthetic_library(60_000, n_clusters=8, n_descriptors=20, seed=1).embeddings
    full = projection.project_pca(emb)
    monkeypatch.setattr(projection, "FIT_MAX_ROWS", 15_000)  # the 10^6-track code path, at test size
    sampled = projection.project_pca(emb)
    np.testing.assert_array_equal(sampled.coords, projection.project_pca(emb).coords)  # stable across refreshes
    assert sampled.coords.shape == (60_000, 2) and np.isfinite(sampled.coords).all()  # every track placed
    cos = np.abs(np.sum(full.components * sampled.components, axis=1))
    assert (cos > 0.95).all(), cos  # the same two axes, up to sampling noise (it shrinks with the sample size)
    np.testing.assert_allclose(sampled.explained_variance_ratio, full.explained_variance_ratio, rtol=0.05)
    assert not np.array_equal(sampled.coords, full.coords)  # really fitted on the sample
