"""Level of detail for big maps: density image above the exact-point limit, exact points below it."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.density import density_image, level_of_detail, rows_in_box

COLOURS = ["#0072B2", "#E69F00"]


@pytest.fixture(scope="module")
def two_clusters() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.normal([-5.0, 0.0], 0.5, size=(30_000, 2))
    b = rng.normal([5.0, 0.0], 0.5, size=(10_000, 2))
    return np.concatenate([a, b]).astype(np.float32), np.repeat([0, 1], [30_000, 10_000])


def test_whole_view_is_a_density_image(two_clusters):
    coords, labels = two_clusters
    lod = level_of_detail(coords, labels, COLOURS, None, max_points=5_000, grid=(64, 32))
    assert not lod.exact and lod.rows.size == coords.shape[0]
    img = lod.density
    assert img.rgba.shape == (32, 64, 4) and img.counts.sum() == coords.shape[0]  # every point binned once
    left, right = img.counts[:, :32], img.counts[:, 32:]
    assert left.sum() == 30_000 and right.sum() == 10_000
    # cells take their cluster's colour; empty cells are transparent; the densest cell is the most opaque
    iy, ix = np.unravel_index(np.argmax(img.counts[:, :32]), (32, 32))
    assert tuple(img.rgba[iy, ix, :3]) == (0x00, 0x72, 0xB2)
    iy, ix = np.unravel_index(np.argmax(img.counts[:, 32:]), (32, 32))
    assert tuple(img.rgba[iy, 32 + ix, :3]) == (0xE6, 0x9F, 0x00)
    assert (img.rgba[..., 3][img.counts == 0] == 0).all()
    assert img.rgba[..., 3].max() == img.rgba[..., 3][img.counts == img.counts.max()].max() == 255


def test_zoomed_view_draws_exact_points(two_clusters):
    coords, labels = two_clusters
    box = (4.0, 4.5, -0.2, 0.2)
    lod = level_of_detail(coords, labels, COLOURS, box, max_points=5_000)
    expected = np.flatnonzero((coords[:, 0] >= 4.0) & (coords[:, 0] <= 4.5) & (np.abs(coords[:, 1]) <= 0.2))
    assert lod.exact and lod.density is None
    np.testing.assert_array_equal(lod.rows, expected)
    assert 0 < expected.size <= 5_000


def test_points_outside_the_bounds_are_not_binned(two_clusters):
    coords, labels = two_clusters
    img = density_image(coords, labels, COLOURS, (0.0, 10.0, -3.0, 3.0), grid=(10, 6))
    assert img.counts.sum() == rows_in_box(coords, (0.0, 10.0, -3.0, 3.0)).size - np.count_nonzero(
        (coords[:, 0] == 10.0) | (coords[:, 1] == 3.0)
    )
    with pytest.raises(ValueError, match="empty density bounds"):
        density_image(coords, labels, COLOURS, (1.0, 1.0, 0.0, 1.0))
