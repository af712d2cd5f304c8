"""What the map's axes mean, right now: Pearson r between each axis and every interpretive descriptor.

Recomputed whenever the filter or the visible region changes, so zooming into a corner of the map re-labels the
axes for the tracks actually on screen. All correlations come from one matrix product of standardised columns.

An axis gets a meaning only when its best descriptor has |r| >= `min_r` (0.3 by default, a "moderate" correlation)
AND the correlation is significant after a Bonferroni correction over the D descriptors tried (p * D < `alpha`).
With few tracks the second test is what bites: r = 0.5 on 8 tracks is not evidence. Otherwise the label says
"no clear meaning". When the two best descriptors both reach `combine_r` (0.5), both are named.
The axis is drawn with its low pole at the negative end: r > 0 reads "low ↔ high", r < 0 reads "high ↔ low".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import stdtr

from explorer.analysis.descriptors import PoleSpec
from explorer.analysis.errors import AnalysisError

MIN_R = 0.3
ALPHA = 0.05
COMBINE_R = 0.5
NO_MEANING = "no clear meaning"

BoundingBox = tuple[float, float, float, float]  # (x_min, x_max, y_min, y_max) in map coordinates
Visible = np.ndarray | BoundingBox | None


@dataclass
class AxisLabel:
    axis: int  # 0 = horizontal, 1 = vertical
    text: str  # full label, e.g. "Muffled ↔ Crisp (r = +0.72, brightness)"
    short: str  # poles only, e.g. "Muffled ↔ Crisp", or "no clear meaning"
    negative_end: str  # word at the low end of the axis ("" when unclear)
    positive_end: str
    clear: bool
    descriptor: str | None = None  # best descriptor's name (reported even when unclear)
    r: float = float("nan")
    p_value: float = float("nan")
    n: int = 0  # tracks the correlation was computed on
    secondary: tuple[str, float] | None = None  # (name, r) when two descriptors are combined
    ranking: list[tuple[str, float]] = field(default_factory=list)  # top descriptors by |r|, for tooltips


def visible_mask(coords: np.ndarray, visible: Visible) -> np.ndarray:
    """(n,) bool from a mask over the map's tracks or a bounding box (x_min, x_max, y_min, y_max)."""
    n = coords.shape[0]
    if visible is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(visible)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise AnalysisError(f"visible mask has shape {arr.shape}, expected ({n},)")
        return arr
    if arr.shape == (4,):
        x0, x1, y0, y1 = (float(v) for v in arr)
        return (
            (coords[:, 0] >= min(x0, x1))
            & (coords[:, 0] <= max(x0, x1))
            & (coords[:, 1] >= min(y0, y1))
            & (coords[:, 1] <= max(y0, y1))
        )
    raise AnalysisError("visible must be a boolean mask over the map's tracks or (x_min, x_max, y_min, y_max)")


@dataclass(frozen=True)
class ColumnSums:
    """Per-column sum and sum of squares (float64) of a table: the map's axis correlations and cluster profiles
    both need them, and at 10^6 tracks each pass over the descriptor table is tens of milliseconds."""

    n: int
    total: np.ndarray  # (D,) float64
    squares: np.ndarray  # (D,) float64

    @classmethod
    def of(cls, x: np.ndarray) -> ColumnSums:
        x = np.asarray(x)
        return cls(int(x.shape[0]), x.sum(axis=0, dtype=np.float64), np.einsum("ij,ij->j", x, x, dtype=np.float64))

    def centred_squares(self) -> np.ndarray:
        """(D,) sum of squared deviations from the column mean; 0 for a column constant up to rounding."""
        mean = self.total / max(self.n, 1)
        dev = self.squares - self.n * mean * mean
        return np.where(dev > CONSTANT_SHARE * self.squares, dev, 0.0)


CONSTANT_SHARE = 1e-10  # a column whose variance is below this share of its mean square is constant (float32 noise)


def pearson_matrix(a: np.ndarray, b: np.ndarray, b_sums: ColumnSums | None = None) -> np.ndarray:
    """(P, Q) Pearson r between columns of a (n, P) and b (n, Q); 0 where a column is constant.

    Only the narrow `a` (map coordinates) is centred: b's cross products are taken raw, in its precision (float32
    descriptors), and corrected by its mean afterwards, and its spread comes from its column sums (`b_sums`, which
    a caller may share), so the wide descriptor table is read once. r is shown with two decimals."""
    a = np.asarray(a)
    b = np.asarray(b)
    n = a.shape[0]
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    sums = b_sums if b_sums is not None else ColumnSums.of(b)
    ac = a - a.mean(axis=0, dtype=np.float64).astype(dtype)
    ac_total = ac.sum(axis=0, dtype=np.float64)
    na = np.sqrt(np.einsum("ij,ij->j", ac, ac, dtype=np.float64))
    nb = np.sqrt(sums.centred_squares())
    mean_b = sums.total / max(n, 1)
    cross = (ac.T @ b.astype(dtype, copy=False)).astype(np.float64) - np.outer(ac_total, mean_b)
    denom = np.outer(na, nb)
    scale = max(float(np.abs(denom).max(initial=0.0)), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom > 1e-12 * scale, cross / np.where(denom > 0, denom, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def _fill_nans(x: np.ndarray) -> np.ndarray:
    """Missing descriptor values take the column mean, so one failed feature does not void the whole column."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if np.isfinite(x).all():
        return x
    x = np.where(np.isfinite(x), x, np.nan)
    with np.errstate(all="ignore"):
        means = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
    means = np.where(np.isfinite(means), means, 0.0)
    return np.where(np.isnan(x), means[None, :].astype(x.dtype), x)


def p_value(r: np.ndarray, n: int) -> np.ndarray:
    """Two-sided p of H0: rho = 0, from t = r * sqrt((n-2) / (1-r^2)) with n-2 degrees of freedom."""
    r = np.asarray(r, dtype=np.float64)
    if n < 3:
        return np.ones_like(r)
    with np.errstate(divide="ignore"):
        t = np.abs(r) * np.sqrt((n - 2) / np.maximum(1.0 - r * r, 1e-300))
    return np.minimum(2.0 * stdtr(n - 2, -t), 1.0)  # Student t CDF (scipy.special: a lighter import than stats)


def _poles(spec: PoleSpec, r: float) -> tuple[str, str]:
    """(negative end, positive end) of an axis correlating with `spec` at `r`."""
    return (spec.low_pole, spec.high_pole) if r >= 0 else (spec.high_pole, spec.low_pole)


def _unclear(
    axis: int, n: int, reason: str, best: tuple[str, float, float] | None = None, ranking: list | None = None
) -> AxisLabel:
    text = f"{NO_MEANING} ({reason})"
    label = AxisLabel(axis, text, NO_MEANING, "", "", False, n=n, ranking=ranking or [])
    if best is not None:
        label.descriptor, label.r, label.p_value = best
    return label


def interpret_axes(
    coords: np.ndarray,
    descriptors: np.ndarray,
    specs: Sequence[PoleSpec],
    visible: Visible = None,
    *,
    min_r: float = MIN_R,
    alpha: float = ALPHA,
    combine_r: float = COMBINE_R,
    sums: ColumnSums | None = None,
) -> list[AxisLabel]:
    """One AxisLabel per column of `coords` (n, A), from descriptors (n, D) over the visible tracks. `sums`: the
    descriptors' `ColumnSums` when the caller has them (used when every track is visible)."""
    coords = np.asarray(coords)
    coords = coords if coords.dtype == np.float32 else coords.astype(np.float64)
    desc = np.asarray(descriptors)
    if coords.ndim != 2 or desc.ndim != 2 or coords.shape[0] != desc.shape[0]:
        raise AnalysisError(f"coords {coords.shape} and descriptors {desc.shape} must be (n, A) and (n, D)")
    if desc.shape[1] != len(specs):
        raise AnalysisError(f"{desc.shape[1]} descriptor columns but {len(specs)} descriptor specs")
    mask = visible_mask(coords, visible)
    every = bool(mask.all())
    xy = coords if every else coords[mask]
    dd = _fill_nans(desc if every else desc[mask])
    n, n_desc = xy.shape[0], dd.shape[1]
    if n_desc == 0:
        return [_unclear(a, n, "no descriptors available") for a in range(coords.shape[1])]
    if n < 4:
        return [_unclear(a, n, f"only {n} track{'s' if n != 1 else ''} in view") for a in range(coords.shape[1])]
    # float32 map coordinates: with float32 descriptors the products stay in float32 (r is shown to two
    # decimals); float64 coordinates promoted the whole descriptor table, 0.5 s of the refresh at 10^6 tracks
    r_all = pearson_matrix(xy.astype(np.float32), dd, sums if every and dd is desc else None)  # (A, D)
    p_all = p_value(r_all, n)
    labels = []
    for a in range(coords.shape[1]):
        r = r_all[a]
        order = np.argsort(-np.abs(r), kind="stable")
        ranking = [(specs[j].name, float(r[j])) for j in order[:5]]
        if np.ptp(xy[:, a]) <= 0:
            labels.append(_unclear(a, n, "the tracks in view do not spread along this axis", ranking=ranking))
            continue
        best = int(order[0])
        r_best, p_best = float(r[best]), float(p_all[a, best])
        best_info = (specs[best].name, r_best, p_best)
        if abs(r_best) < min_r:
            labels.append(_unclear(a, n, f"best: {specs[best].label}, r = {r_best:+.2f}", best_info, ranking))
            continue
        if p_best * n_desc >= alpha:
            labels.append(
                _unclear(
                    a, n, f"{specs[best].label}, r = {r_best:+.2f}, not significant with {n} tracks", best_info, ranking
                )
            )
            continue
        neg, pos = _poles(specs[best], r_best)
        detail = f"r = {r_best:+.2f}, {specs[best].label}"
        secondary = None
        if n_desc > 1:
            second = int(order[1])
            r_second = float(r[second])
            if abs(r_best) >= combine_r and abs(r_second) >= combine_r and p_all[a, second] * n_desc < alpha:
                neg2, pos2 = _poles(specs[second], r_second)
                if neg2 != neg and pos2 != pos:
                    neg, pos = f"{neg} / {neg2}", f"{pos} / {pos2}"
                    detail = f"r = {r_best:+.2f} {specs[best].label}, {r_second:+.2f} {specs[second].label}"
                    secondary = (specs[second].name, r_second)
        short = f"{neg} ↔ {pos}"
        labels.append(
            AxisLabel(
                a, f"{short} ({detail})", short, neg, pos, True, specs[best].name, r_best, p_best, n, secondary, ranking
            )
        )
    return labels
