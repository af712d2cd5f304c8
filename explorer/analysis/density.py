"""Level of detail for big maps: a density image when too many points are in view, exact points below that.

A scatter item with 10^6 points takes seconds to build and to repaint, and at that density individual points
only add up to a blur anyway. So the map asks `level_of_detail` what to draw for the current view: up to
`EXACT_POINTS_MAX` points in view are drawn exactly (and stay clickable); above that the view is binned into a
grid whose cells are coloured by their dominant subcategory, with opacity rising with the log of the count, so
dense cores and sparse fringes both stay visible. Pure numpy, no Qt: the UI layer only shows the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_POINTS_MAX = 20_000  # points in view drawn one by one; above this the view is drawn as a density image
GRID = (480, 360)  # density cells (width, height) across the view: about 2-3 screen pixels per cell


@dataclass
class DensityImage:
    """An RGBA image covering `bounds` = (x0, x1, y0, y1); rgba[iy, ix] is the cell at column ix, row iy (y up)."""

    rgba: np.ndarray  # (H, W, 4) uint8
    counts: np.ndarray  # (H, W) int64 points per cell
    bounds: tuple[float, float, float, float]


@dataclass
class LevelOfDetail:
    """What to draw for one view: `rows` (scene positions) of the exact points, or a `density` image."""

    exact: bool
    rows: np.ndarray  # (m,) int64 positions in the scene of the points in view (all of them, either way)
    density: DensityImage | None = None


def rows_in_box(coords: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """Scene positions of the points inside (x0, x1, y0, y1); every point when box is None."""
    if box is None:
        return np.arange(coords.shape[0], dtype=np.int64)
    x0, x1, y0, y1 = box
    x, y = coords[:, 0], coords[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).astype(np.int64)


def _rgb(colours: Sequence[str]) -> np.ndarray:
    out = np.zeros((max(len(colours), 1), 3), dtype=np.float32)
    for i, c in enumerate(colours):
        c = c.lstrip("#")
        out[i] = [int(c[j : j + 2], 16) for j in (0, 2, 4)]
    return out


def density_image(
    coords: np.ndarray,
    labels: np.ndarray,
    colours: Sequence[str],
    bounds: tuple[float, float, float, float],
    grid: tuple[int, int] = GRID,
) -> DensityImage:
    """Bin the points inside `bounds` on a (W, H) grid; each cell takes its dominant label's colour."""
    w, h = grid
    x0, x1, y0, y1 = (float(b) for b in bounds)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"empty density bounds {bounds}")
    k = max(len(colours), 1)
    ix = np.floor((coords[:, 0] - x0) * (w / (x1 - x0))).astype(np.int64)
    iy = np.floor((coords[:, 1] - y0) * (h / (y1 - y0))).astype(np.int64)
    inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    cell = iy[inside] * w + ix[inside]
    lab = np.clip(np.asarray(labels, dtype=np.int64)[inside], 0, k - 1)
    per_label = np.bincount(cell * k + lab, minlength=w * h * k).reshape(h * w, k)
    counts = per_label.sum(axis=1)
    dominant = per_label.argmax(axis=1)
    rgba = np.zeros((h * w, 4), dtype=np.uint8)
    rgba[:, :3] = _rgb(colours)[dominant].astype(np.uint8)
    top = max(int(counts.max(initial=0)), 1)
    alpha = np.where(counts > 0, 70.0 + 185.0 * np.log1p(counts) / np.log1p(top), 0.0)
    rgba[:, 3] = alpha.astype(np.uint8)
    return DensityImage(rgba=rgba.reshape(h, w, 4), counts=counts.reshape(h, w), bounds=(x0, x1, y0, y1))


def level_of_detail(
    coords: np.ndarray,
    labels: np.ndarray,
    colours: Sequence[str],
    box: tuple[float, float, float, float] | None,
    max_points: int = EXACT_POINTS_MAX,
    grid: tuple[int, int] = GRID,
) -> LevelOfDetail:
    """Exact points when at most `max_points` are inside `box` (None: the whole map), else a density image of it."""
    coords = np.asarray(coords, dtype=np.float32).reshape(-1, 2)
    rows = rows_in_box(coords, box)
    if rows.size <= max_points:
        return LevelOfDetail(True, rows)
    if box is None:
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        span = np.maximum(hi - lo, 1e-6)
        box = (float(lo[0]), float(lo[0] + span[0] * 1.0001), float(lo[1]), float(lo[1] + span[1] * 1.0001))
    return LevelOfDetail(False, rows, density_image(coords, labels, colours, box, grid))
