"""Subcategories: K found from the geometry, representatives at the centres, determinism, tiny and large inputs."""

import numpy as np
import pytest

from explorer.analysis import AnalysisError, find_subcategories
from explorer.analysis.subcategories import _pairwise_distances, separation_score, silhouette_from_distances


def blobs(centres, per=60, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float64)
    truth = np.repeat(np.arange(len(centres)), per)
    x = centres[truth] + rng.normal(size=(len(truth), centres.shape[1])) * noise
    return x.astype(np.float32), truth


def far_centres(k, dim=128, dist=6.0, seed=1):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, dim))
    return c / np.linalg.norm(c, axis=1, keepdims=True) * dist


def same_partition(a, b):
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_two_blobs_give_k2_and_central_representatives():
    centres = far_centres(2)
    x, truth = blobs(centres)
    sub = find_subcategories(x)
    assert sub.k == 2 and sub.auto and not sub.approximate
    assert same_partition(sub.labels, truth)
    for j, rep in enumerate(sub.representatives):
        members = np.flatnonzero(sub.labels == j)
        centre = centres[truth[rep]]
        nearest_true = members[np.argmin(np.linalg.norm(x[members] - centre, axis=1))]
        # the representative is the track nearest the fitted centroid, which sits at the true centre
        assert rep == members[np.argmin(np.linalg.norm(x[members] - sub.centroids[j], axis=1))]
        assert np.linalg.norm(x[rep] - centre) <= np.linalg.norm(x[nearest_true] - centre) + 0.35
    assert [s.k for s in sub.scores] == [2, 3, 4, 5, 6]
    best = max(sub.scores, key=lambda s: s.separation)
    assert best.k == 2 and best.silhouette > 0.5


@pytest.mark.parametrize("k_true", [3, 4])
def test_more_blobs_give_their_number(k_true):
    x, truth = blobs(far_centres(k_true, seed=k_true), per=40)
    sub = find_subcategories(x)
    assert sub.k == k_true
    assert same_partition(sub.labels, truth)
    assert sorted(sub.sizes.tolist()) == [40] * k_true


def test_one_blob_is_reported_as_not_separated():
    x, _ = blobs(np.zeros((1, 128)), per=300, noise=1.0)
    sub = find_subcategories(x)
    assert any("no clearly separated groups" in n for n in sub.notes)


def test_override_and_determinism():
    x, _ = blobs(far_centres(3), per=30)
    a = find_subcategories(x, k=5, seed=4)
    b = find_subcategories(x, k=5, seed=4)
    assert a.k == 5 and not a.auto
    np.testing.assert_array_equal(a.labels, b.labels)
    assert (np.diff(a.sizes) <= 0).all(), "cluster 0 is the largest"
    with pytest.raises(AnalysisError):
        find_subcategories(x, k="many")
    with pytest.raises(AnalysisError):
        find_subcategories(x, k=0)


def test_tiny_inputs():
    assert find_subcategories(np.zeros((0, 8))).k == 0
    one = find_subcategories(np.ones((1, 8)))
    assert one.k == 1 and one.labels.tolist() == [0] and one.representatives.tolist() == [0]
    two = find_subcategories(np.array([[0.0] * 8, [1.0] * 8]))
    assert two.k == 1  # K <= N - 1
    three = find_subcategories(np.array([[0.0] * 8, [0.1] * 8, [5.0] * 8]))
    assert three.k == 2 and three.labels.tolist() in ([0, 0, 1],)
    dup = find_subcategories(np.ones((10, 8)))
    assert dup.k == 1
    many_same = find_subcategories(np.ones((3000, 8)))  # too many rows to count distinct ones
    assert many_same.k == 1 and many_same.sizes.tolist() == [3000] and many_same.representatives.min() >= 0
    capped = find_subcategories(np.array([[0.0] * 8, [1.0] * 8, [2.0] * 8]), k=6)
    assert capped.k == 3 and capped.notes


def test_large_input_is_approximate_and_says_so():
    x, truth = blobs(far_centres(3), per=1500, noise=0.5)
    sub = find_subcategories(x, max_points=1000)
    assert sub.approximate and sub.sample_size == 1000
    assert sub.k == 3 and same_partition(sub.labels, truth)
    assert any("approximate" in n for n in sub.notes)


def test_silhouette_matches_scikit_learn():
    from sklearn.metrics import silhouette_score

    x, truth = blobs(far_centres(3, dist=1.5), per=20, noise=1.0)
    labels = np.where(truth == 2, 1, truth)
    mine = silhouette_from_distances(_pairwise_distances(x), labels)
    assert mine == pytest.approx(silhouette_score(x, labels), abs=1e-6)


def test_separation_grows_with_distance():
    x1, t1 = blobs(far_centres(2, dist=2.0))
    x2, t2 = blobs(far_centres(2, dist=8.0))
    c1 = np.stack([x1[t1 == j].mean(0) for j in range(2)])
    c2 = np.stack([x2[t2 == j].mean(0) for j in range(2)])
    assert separation_score(x2, t2, c2) > 3 * separation_score(x1, t1, c1)


def test_kmeans_restarts_are_independent_and_reseed_empty_clusters():
    from explorer.analysis.kmeans import kmeans, lloyd

    x, truth = blobs(far_centres(3), per=30)
    best = kmeans(x, 3, seed=0, n_init=4)
    single = [kmeans(x, 3, seed=0, n_init=1)]
    assert best.inertia <= single[0].inertia + 1e-3
    assert same_partition(best.labels, truth)
    # two centroids far away from every point: both clusters start empty and must be re-seeded apart
    start = np.stack([x.mean(axis=0), np.full(128, 1e3), np.full(128, -1e3)]).astype(np.float32)
    fit = lloyd(x, start, max_iter=1)
    assert np.bincount(fit.labels, minlength=3).min() > 0  # re-seeded on two different points
    assert np.linalg.norm(fit.centroids[1] - fit.centroids[2]) > 0
