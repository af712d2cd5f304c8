"""Describe each subcategory in words: which descriptors set it apart from the rest of the view.

For cluster c and descriptor j: z = (mean of c - mean of the other tracks in view) / std of the whole view, an
effect size in standard deviations. The largest |z| >= `min_z` (0.5 SD) are named by their pole words, e.g.
"More crisp, fast and dense than the rest".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from explorer.analysis.axes import ColumnSums, _fill_nans
from explorer.analysis.descriptors import PoleSpec
from explorer.analysis.errors import AnalysisError

MIN_Z = 0.5
MAX_TERMS = 3


@dataclass
class ClusterProfile:
    cluster: int
    size: int
    z: np.ndarray  # (D,) effect size of every descriptor vs. the rest of the view
    sentence: str
    terms: list[tuple[str, float]] = field(default_factory=list)  # (descriptor name, z) named in the sentence


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def cluster_profiles(
    descriptors: np.ndarray,
    labels: np.ndarray,
    specs: Sequence[PoleSpec],
    k: int | None = None,
    *,
    min_z: float = MIN_Z,
    max_terms: int = MAX_TERMS,
    sums: ColumnSums | None = None,
) -> list[ClusterProfile]:
    """One profile per subcategory: how its tracks differ from the rest, in descriptor z-scores. `sums`: the
    descriptors' ColumnSums when the caller already has them (the map shares them with its axis labels)."""
    raw = np.asarray(descriptors)
    desc = _fill_nans(raw)
    if desc is not raw or (sums is not None and sums.n != desc.shape[0]):
        sums = None
    labels = np.asarray(labels, dtype=np.int64)
    if desc.ndim != 2 or desc.shape[0] != labels.shape[0]:
        raise AnalysisError(f"descriptors {desc.shape} and labels {labels.shape} do not match")
    if desc.shape[1] != len(specs):
        raise AnalysisError(f"{desc.shape[1]} descriptor columns but {len(specs)} descriptor specs")
    k = int(labels.max()) + 1 if k is None and len(labels) else (k or 0)
    n, d = desc.shape
    sums = sums or ColumnSums.of(desc)
    total = sums.total
    mean = total / max(n, 1)
    centred_sq = sums.squares / max(n, 1) - mean**2
    std = np.sqrt(np.maximum(centred_sq, 0.0)) if n else np.zeros(d)
    std = np.where(std > 1e-6 * (np.abs(mean) + 1e-30), std, 0.0)  # rounding residue of a constant column
    safe_std = np.where(std > 0, std, 1.0)
    # per-cluster sums in one product instead of k boolean-mask passes over the rows
    one_hot = np.zeros((n, k), dtype=desc.dtype)
    valid = (labels >= 0) & (labels < k)
    one_hot[np.flatnonzero(valid), labels[valid]] = 1.0
    sizes = one_hot.sum(axis=0).astype(np.int64)
    sums = (one_hot.T @ desc).astype(np.float64)
    profiles = []
    for c in range(k):
        size = int(sizes[c])
        rest = n - size
        if size == 0 or rest == 0:
            sentence = "All tracks in view" if size else "Empty subcategory"
            profiles.append(ClusterProfile(c, size, np.zeros(d), sentence))
            continue
        inside = sums[c]
        z = np.where(std > 0, (inside / size - (total - inside) / rest) / safe_std, 0.0)
        order = [j for j in np.argsort(-np.abs(z), kind="stable")[:max_terms] if abs(z[j]) >= min_z]
        if not order:
            profiles.append(ClusterProfile(c, size, z, "Close to the rest of the view in every descriptor"))
            continue
        words = [(specs[j].high_pole if z[j] > 0 else specs[j].low_pole).lower() for j in order]
        sentence = f"More {_join(words)} than the rest"
        profiles.append(ClusterProfile(c, size, z, sentence, [(specs[j].name, float(z[j])) for j in order]))
    return profiles
