"""Maps with more tracks than FIT_MAX_ROWS fit their PCA axes on a fixed sample (every k-th row) and still place every
track."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_one_bad_row_outside_the_fit_sample_is_still_refused(monkeypatch):
    """The finiteness checks ride on the projection and the row norms (no separate pass): a NaN or inf in a row
    that the sampled fits never see must still be refused, not drawn at NaN."""
    from explorer.analysis.errors import AnalysisError
    from explorer.analysis.subcategories import find_subcategories

    monkeypatch.setattr(projection, "FIT_MAX_ROWS", 1_000)
    emb = synthetic_library(5_001, n_clusters=4, n_descriptors=4, seed=2).embeddings.copy()
    assert 4_001 % 6 != 0  # every 6th row is fitted: row 4,001 is not
    for bad in (np.nan, np.inf, -np.inf):
        emb[4_001, 7] = bad
        with pytest.raises(AnalysisError, match="NaN or infinite"):
            projection.project_pca(emb)
        with pytest.raises(AnalysisError, match="NaN or infinite"):
            find_subcategories(emb, max_points=500)
    emb[4_001, 7] = 1e30  # finite, but its squared norm overflows float32: still a valid (if odd) embedding
    assert len(find_subcategories(emb, max_points=500).labels) == 5_001


def test_the_map_places_and_assigns_in_one_pass_as_the_separate_functions_do():
    """build_map_scene takes coordinates from the cluster assignment's matrix product (fit_pca + products_with):
    they must equal project_pca's, and the clusters find_subcategories' own."""
    from explorer.analysis import build_map_scene, find_subcategories

    lib = synthetic_library(30_000, n_clusters=6, n_descriptors=8, seed=4)
    scene = build_map_scene(lib)
    alone = projection.project_pca(lib.embeddings)
    assert np.abs(scene.coords).max() > 0.1
    centred = (lib.embeddings.astype(np.float64) - alone.mean) @ alone.components.T.astype(np.float64)
    tol = 1e-5 * float(np.abs(centred).max())
    np.testing.assert_allclose(scene.coords, centred, atol=tol)  # the textbook projection of every row
    np.testing.assert_allclose(alone.coords, centred, atol=tol)
    np.testing.assert_array_equal(scene.labels, find_subcategories(lib.embeddings).labels)
