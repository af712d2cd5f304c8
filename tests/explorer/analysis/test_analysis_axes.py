"""Axis meaning (Pearson r against descriptors, polarity, honesty when weak) and cluster profile sentences."""

import numpy as np
import pytest
from scipy import stats

from explorer.analysis import AnalysisError, cluster_profiles, interpret_axes, pearson_matrix
from explorer.analysis.descriptors import PoleSpec, pole_specs

SPECS = [
    PoleSpec("brightness", "brightness", "Muffled", "Crisp"),
    PoleSpec("tempo", "tempo", "Slow", "Fast"),
    PoleSpec("complexity", "complexity", "Simple", "Complex"),
]


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    desc = rng.normal(size=(n, 3))
    coords = np.stack([desc[:, 0] + 0.3 * rng.normal(size=n), -desc[:, 1] + 0.3 * rng.normal(size=n)], axis=1)
    return coords, desc


def test_pearson_matrix_matches_scipy():
    coords, desc = data(50)
    r = pearson_matrix(coords, desc)
    for a in range(2):
        for j in range(3):
            assert r[a, j] == pytest.approx(stats.pearsonr(coords[:, a], desc[:, j])[0], abs=1e-9)
    assert pearson_matrix(coords, np.ones((50, 1)))[:, 0].tolist() == [0.0, 0.0]


def test_p_value_matches_scipy():
    from explorer.analysis.axes import p_value

    coords, desc = data(12, seed=9)
    r = pearson_matrix(coords, desc)
    for a in range(2):
        for j in range(3):
            assert p_value(r[a, j], 12) == pytest.approx(stats.pearsonr(coords[:, a], desc[:, j])[1], rel=1e-6)


def test_axis_named_after_its_descriptor_with_polarity():
    coords, desc = data()
    x, y = interpret_axes(coords, desc, SPECS)
    assert x.clear and x.descriptor == "brightness" and x.r > 0.9
    assert x.short == "Muffled ↔ Crisp" and (x.negative_end, x.positive_end) == ("Muffled", "Crisp")
    assert x.text.startswith("Muffled ↔ Crisp (r = +0.9") and "brightness" in x.text
    assert y.clear and y.descriptor == "tempo" and y.r < -0.9
    assert y.short == "Fast ↔ Slow"  # tempo falls along the axis: the slow end is the positive end
    # negating the descriptor flips the reading
    flipped = interpret_axes(coords, desc * np.array([-1, 1, 1]), SPECS)[0]
    assert flipped.short == "Crisp ↔ Muffled" and flipped.r == pytest.approx(-x.r)


def test_weak_correlation_says_no_clear_meaning():
    rng = np.random.default_rng(2)
    coords = rng.normal(size=(300, 2))
    desc = rng.normal(size=(300, 3))
    for label in interpret_axes(coords, desc, SPECS):
        assert not label.clear and label.short == "no clear meaning"
        assert label.text.startswith("no clear meaning")
        assert abs(label.r) < 0.3 and label.descriptor is not None


def test_few_tracks_need_significance():
    coords, desc = data(n=6, seed=5)
    labels = interpret_axes(coords, desc, SPECS)
    for lab in labels:  # p * 3 < 0.05 is demanded; report it either way
        assert lab.clear == (lab.p_value * 3 < 0.05 and abs(lab.r) >= 0.3)
    assert not interpret_axes(coords[:3], desc[:3], SPECS)[0].clear


def test_visible_region_changes_the_meaning():
    rng = np.random.default_rng(3)
    n = 400
    desc = rng.normal(size=(n, 3))
    left = np.arange(n) < n // 2
    # on the left half the x position follows brightness, on the right half complexity
    x = np.where(left, -10 + desc[:, 0], 10 + desc[:, 2])
    coords = np.stack([x, rng.normal(size=n)], axis=1)
    assert interpret_axes(coords, desc, SPECS, visible=(-20, 0, -5, 5))[0].descriptor == "brightness"
    assert interpret_axes(coords, desc, SPECS, visible=~left)[0].descriptor == "complexity"
    with pytest.raises(AnalysisError):
        interpret_axes(coords, desc, SPECS, visible=np.ones(3, bool))


def test_two_strong_descriptors_are_combined():
    rng = np.random.default_rng(4)
    desc = rng.normal(size=(300, 3))
    axis = desc[:, 2] - desc[:, 0] + 0.2 * rng.normal(size=300)
    coords = np.stack([axis, rng.normal(size=300)], axis=1)
    x = interpret_axes(coords, desc, SPECS)[0]
    assert x.secondary is not None
    assert {x.descriptor, x.secondary[0]} == {"complexity", "brightness"}
    assert set(x.negative_end.split(" / ")) == {"Simple", "Crisp"}
    assert set(x.positive_end.split(" / ")) == {"Complex", "Muffled"}


def test_profiles_describe_what_sets_a_cluster_apart():
    rng = np.random.default_rng(6)
    desc = rng.normal(size=(200, 3))
    labels = np.repeat([0, 1], 100)
    desc[labels == 0, 0] += 2.0  # cluster 0 is brighter
    desc[labels == 0, 1] -= 1.5  # and slower
    profiles = cluster_profiles(desc, labels, SPECS)
    assert profiles[0].sentence == "More crisp and slow than the rest"
    assert profiles[1].sentence == "More muffled and fast than the rest"
    assert (
        profiles[0].terms[0][0] == "brightness" and profiles[0].terms[0][1] > 1.2
    )  # 2 SD of the noise = 1.4 SD of the whole view
    plain = cluster_profiles(rng.normal(size=(200, 3)), labels, SPECS)
    assert plain[0].sentence.startswith("Close to the rest")
    assert cluster_profiles(desc, np.zeros(200, int), SPECS)[0].sentence == "All tracks in view"


def test_pole_specs_fall_back_for_unknown_columns():
    specs = pole_specs(["mystery_feature"], specs=[])
    assert specs[0].low_pole == "low mystery feature" and specs[0].high_pole == "high mystery feature"
