"""descriptor_percentiles: mid-rank percentiles, checked against scipy, on real indexed descriptors and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import percentileofscore

from explorer.analysis.errors import AnalysisError
from explorer.analysis.ranks import descriptor_percentiles
from synthetic import synthetic_library


def test_matches_scipy_mean_kind_with_ties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(57, 6))
    x[:, 2] = np.round(x[:, 2])  # many ties
    x[:, 3] = 1.5  # a constant column
    for row in (0, 13, 56, -1):
        want = [percentileofscore(x[:, j], x[row, j], kind="mean") for j in range(x.shape[1])]
        np.testing.assert_allclose(descriptor_percentiles(x, row), want)
    assert np.all(descriptor_percentiles(x, 5)[3] == 50.0)


def test_extremes_and_median_on_library_descriptors():
    arrays = synthetic_library(101)
    d = np.asarray(arrays.descriptors, dtype=float)
    j = 0
    order = np.argsort(d[:, j])
    lo, mid, hi = (descriptor_percentiles(d, int(order[i]))[j] for i in (0, 50, 100))
    assert lo == pytest.approx(100 * 0.5 / 101) and hi == pytest.approx(100 * 100.5 / 101)
    assert mid == pytest.approx(50.0)


def test_nan_values_are_left_out():
    x = np.array([[1.0, np.nan], [2.0, 5.0], [3.0, 6.0], [np.nan, 7.0]])
    p = descriptor_percentiles(x, 1)
    assert p[0] == pytest.approx(100 * 1.5 / 3) and p[1] == pytest.approx(100 * 0.5 / 3)
    assert np.isnan(descriptor_percentiles(x, 3)[0])


def test_bad_input_raises_analysis_error():
    with pytest.raises(AnalysisError):
        descriptor_percentiles(np.zeros(5), 0)
    with pytest.raises(AnalysisError):
        descriptor_percentiles(np.zeros((3, 2)), 3)
