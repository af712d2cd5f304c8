"""Where one track stands in the library on each descriptor, as a percentile (the details panel's column)."""

from __future__ import annotations

import numpy as np

from explorer.analysis.errors import AnalysisError


def descriptor_percentiles(descriptors: np.ndarray, row: int) -> np.ndarray:
    """(D,) percentiles 0..100 of track `row` among all tracks, one per descriptor column of (N, D) `descriptors`.

    Mid-rank: the share of tracks below the value plus half the share equal to it (scipy's
    `percentileofscore(kind="mean")`). Ties therefore sit in the middle of their run: a column where every track has
    the same value reads 50 for all of them rather than 0 or 100, and the median track reads 50. Tracks with a NaN
    in a column are left out of that column; a NaN value of `row` itself gives NaN.
    """
    x = np.asarray(descriptors, dtype=np.float64)
    if x.ndim != 2:
        raise AnalysisError(f"descriptors must be (N, D), got shape {x.shape}")
    n = x.shape[0]
    if not -n <= int(row) < n:
        raise AnalysisError(f"row {row} is outside the {n} tracks")
    value = x[int(row)]
    valid = ~np.isnan(x)
    count = valid.sum(axis=0)
    below = (valid & (x < value)).sum(axis=0)
    equal = (valid & (x == value)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * (below + 0.5 * equal) / count
    pct[np.isnan(value)] = np.nan
    return pct
