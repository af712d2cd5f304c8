"""PCA map: explained variance, deterministic orientation, tiny inputs."""

import numpy as np
import pytest

from explorer.analysis import AnalysisError, project_pca


def elongated(n=300, seed=0):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(128, 128)))[0]
    scales = np.r_[10.0, 4.0, np.full(126, 0.5)]
    return (rng.normal(size=(n, 128)) * scales) @ basis.T + 3.0, basis


def test_recovers_principal_axes_and_variance():
    x, basis = elongated()
    proj = project_pca(x)
    assert proj.coords.shape == (300, 2)
    assert abs(abs(proj.components[0] @ basis[:, 0]) - 1) < 0.01
    assert abs(abs(proj.components[1] @ basis[:, 1]) - 1) < 0.05
    total = (np.var(x, axis=0, ddof=1)).sum()
    np.testing.assert_allclose(proj.explained_variance_ratio, np.var(proj.coords, axis=0, ddof=1) / total, rtol=1e-3)
    assert proj.explained_variance_ratio[0] > proj.explained_variance_ratio[1] > 0


def test_orientation_stable_under_row_permutation_and_sign_rule():
    x, _ = elongated(seed=3)
    perm = np.random.default_rng(1).permutation(len(x))
    a, b = project_pca(x), project_pca(x[perm])
    np.testing.assert_allclose(a.coords[perm], b.coords, atol=1e-3)
    for row in a.components:
        assert row[np.argmax(np.abs(row))] > 0
    # negating the data flips the data, not the map's convention
    c = project_pca(-x)
    np.testing.assert_allclose(c.components, a.components, atol=1e-4)


def test_tiny_inputs():
    empty = project_pca(np.zeros((0, 128)))
    assert empty.coords.shape == (0, 2) and not empty.explained_variance_ratio.any()
    one = project_pca(np.ones((1, 128)))
    assert one.coords.tolist() == [[0.0, 0.0]]
    two = project_pca(np.stack([np.zeros(128), np.ones(128)]))
    np.testing.assert_allclose(two.explained_variance_ratio, [1.0, 0.0], atol=1e-9)
    assert abs(two.coords[0, 0]) == pytest.approx(np.sqrt(128) / 2, rel=1e-4)
    assert not two.coords[:, 1].any()
    same = project_pca(np.ones((5, 128)))
    assert not same.coords.any()


def test_bad_input():
    with pytest.raises(AnalysisError):
        project_pca(np.zeros(128))
    with pytest.raises(AnalysisError):
        project_pca(np.full((3, 4), np.nan))
