"""MapScene: the plain data a map draws, from synthetic libraries with known structure."""

import numpy as np
import pytest

from explorer.analysis import PALETTE, AnalysisError, TrackFilter, build_map_scene, refresh_axes
from explorer.analysis.descriptors import PoleSpec
from synthetic import synthetic_library


def two_group_library(n=200, seed=0):
    """Two groups along one embedding direction; descriptor 0 ('brightness') follows that direction."""
    lib = synthetic_library(n, n_descriptors=3, seed=seed)
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 2
    direction = rng.normal(size=128)
    direction /= np.linalg.norm(direction)
    lib.embeddings = (rng.normal(size=(n, 128)) * 0.2 + np.outer(np.where(group, 4.0, -4.0), direction)).astype(
        np.float32
    )
    lib.descriptors = np.stack(
        [lib.embeddings @ direction + 0.3 * rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)], axis=1
    ).astype(np.float32)
    return lib, group


SPECS = [
    PoleSpec("descriptor_00", "brightness", "Muffled", "Crisp"),
    PoleSpec("descriptor_01", "tempo", "Slow", "Fast"),
    PoleSpec("descriptor_02", "density", "Sparse", "Dense"),
]


def test_scene_of_two_groups():
    lib, group = two_group_library()
    scene = build_map_scene(lib, descriptor_specs=SPECS)
    assert len(scene) == 200 and scene.coords.shape == (200, 2)
    assert scene.k == 2 and scene.k_auto and [s.k for s in scene.k_scores] == [2, 3, 4, 5, 6]
    assert scene.colours == list(PALETTE[:2])
    assert len(set(zip(scene.labels.tolist(), group.tolist()))) == 2
    assert scene.explained_variance[0] > 0.5
    x = scene.axis_labels[0]
    assert x.clear and x.descriptor == "descriptor_00" and "brightness" in x.text
    assert x.short == ("Muffled ↔ Crisp" if x.r > 0 else "Crisp ↔ Muffled")
    assert not scene.axis_labels[1].clear
    assert {p.sentence for p in scene.profiles} == {"More crisp than the rest", "More muffled than the rest"}
    reps = scene.representatives
    assert len(reps) == 2 and all(scene.labels[scene.representative_positions[c]] == c for c in range(2))
    assert scene.axis_title(0).startswith("PC1 (")
    assert len(scene.point_colours) == 200


def test_filters_subset_and_visible():
    lib = synthetic_library(600, seed=1)
    filt = TrackFilter.of(genres=["Jazz", "Rock"], quadrants=["Q1", "Q2", "Q3"])
    a = build_map_scene(lib, filt)
    b = build_map_scene(lib, ["Jazz", "Rock"], quadrants=[1, 2, 3])
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.coords, b.coords)
    rows = lib.genres[:, [1, 2]].max(axis=1) > 0
    assert set(a.indices.tolist()) <= set(np.flatnonzero(rows).tolist())
    sub = build_map_scene(lib, filt, subset=a.indices[:50])
    assert len(sub) == 50
    # the visible box narrows only the axis computation
    box = (0.0, 1e9, -1e9, 1e9)
    zoomed = refresh_axes(a, lib, box)
    assert zoomed.visible.sum() == (a.coords[:, 0] >= 0).sum()
    assert zoomed.axis_labels[0].n == zoomed.visible.sum()
    np.testing.assert_array_equal(zoomed.labels, a.labels)
    full_mask = np.zeros(len(lib), bool)
    full_mask[a.indices[:10]] = True  # a mask over the whole library is accepted too
    assert build_map_scene(lib, filt, visible=full_mask).visible.sum() == 10


def test_user_k_and_determinism():
    lib = synthetic_library(300, seed=2)
    a = build_map_scene(lib, k=4, seed=3)
    b = build_map_scene(lib, k=4, seed=3)
    assert a.k == 4 and not a.k_auto and len(a.colours) == 4 and len(a.profiles) == 4
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.coords, b.coords)


def test_empty_and_tiny_scenes():
    lib = synthetic_library(30, seed=4)
    none = build_map_scene(lib, subset=[])
    assert len(none) == 0 and none.k == 0 and none.notes and not none.axis_labels[0].clear
    one = build_map_scene(lib, subset=[5])
    assert one.k == 1 and one.representatives.tolist() == [5] and one.coords.tolist() == [[0.0, 0.0]]
    two = build_map_scene(lib, subset=[5, 9])
    assert two.k == 1 and len(two) == 2
    empty = build_map_scene(synthetic_library(0))
    assert len(empty) == 0 and "no analysed tracks" in empty.notes[0]


def test_large_scene_is_flagged_approximate():
    lib = synthetic_library(6000, seed=5)
    scene = build_map_scene(lib)
    assert scene.approximate and any("approximate" in n for n in scene.notes)
    assert len(scene.labels) == 6000


def test_bad_arguments():
    lib = synthetic_library(20)
    with pytest.raises(AnalysisError):
        build_map_scene(lib, TrackFilter.of(genres="Jazz"), genres=["Rock"])
    with pytest.raises(AnalysisError):
        build_map_scene(lib, genres=["Polka"])
    with pytest.raises(AnalysisError):
        build_map_scene(lib, subset=[100])
