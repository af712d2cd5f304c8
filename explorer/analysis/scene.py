"""Everything the map draws, as plain data: the one function the app's map and `qfx map` both call.

filter -> PCA of the embeddings in view -> subcategories (K-means) -> axis meaning (Pearson r over the visible
tracks) -> cluster profiles. Zooming only changes which tracks are visible, so `refresh_axes` recomputes just the
axis labels of an existing scene (cheap) instead of re-clustering.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer.analysis.axes import AxisLabel, ColumnSums, Visible, _fill_nans, interpret_axes
from explorer.analysis.descriptors import PoleSpec, pole_specs
from explorer.analysis.errors import AnalysisError
from explorer.analysis.filtering import TrackFilter, filter_mask
from explorer.analysis.profiles import ClusterProfile, cluster_profiles
from explorer.analysis.projection import fit_pca
from explorer.analysis.subcategories import KScore, find_subcategories
from explorer.library.arrays import LibraryArrays

# Okabe & Ito (2008) colour-blind-safe palette, ordered so the first six read well on light and dark backgrounds.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass
class MapScene:
    indices: np.ndarray  # (n,) int64 rows of the LibraryArrays in view
    track_ids: np.ndarray  # (n,) int64 cache ids of those rows
    coords: np.ndarray  # (n, 2) float32 map position (PC1, PC2)
    explained_variance: np.ndarray  # (2,) share of the embedding variance each axis shows
    labels: np.ndarray  # (n,) int64 subcategory of each point (0 = largest)
    k: int
    k_auto: bool  # K chosen by the separation criterion (False: user override)
    k_scores: list[KScore]  # separation + silhouette for every K tried
    colours: list[str]  # (k,) hex colour per subcategory
    representatives: np.ndarray  # (k,) int64 rows of the track nearest each subcategory centre
    axis_labels: list[AxisLabel]  # [x, y]
    profiles: list[ClusterProfile]  # (k,) one sentence per subcategory
    filter: TrackFilter = field(default_factory=TrackFilter)
    visible: np.ndarray | None = None  # (n,) bool tracks the axis labels were computed on
    approximate: bool = False  # clustering used a sample (say so in the UI)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    @property
    def point_colours(self) -> list[str]:
        return [self.colours[c] for c in self.labels]

    @property
    def representative_positions(self) -> np.ndarray:
        """(k,) positions of the representatives within this scene's points (-1 when a subcategory is empty)."""
        lookup = {int(r): i for i, r in enumerate(self.indices)}
        return np.array([lookup.get(int(r), -1) for r in self.representatives], dtype=np.int64)

    def axis_title(self, axis: int) -> str:
        """e.g. "PC1 (31% of variance): Muffled ↔ Crisp (r = +0.72, brightness)"."""
        share = float(self.explained_variance[axis]) * 100
        return f"PC{axis + 1} ({share:.0f}% of variance): {self.axis_labels[axis].text}"


_CONTROLLER: Any = None


def _single_threaded_blas():
    """The map's work is many small matrix products: BLAS threads cost more than they give there, and on a busy
    machine they stall (measured: a 128x128 eigh jumps from 1 ms to 100+ ms with 2 threads on 2 loaded cores)."""
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or confused: run with whatever threads BLAS has
        return contextlib.nullcontext()


def palette(k: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(k)]


def _as_filter(filters: Any, genres, emotions, quadrants, emotion_top_k, emotion_threshold) -> TrackFilter:
    if isinstance(filters, TrackFilter):
        if genres is not None or emotions is not None or quadrants is not None:
            raise AnalysisError("pass either a TrackFilter or genres/emotions/quadrants, not both")
        return filters
    if isinstance(filters, dict):
        return TrackFilter.of(**filters)
    if filters is not None:  # positional genres, as in build_map_scene(arrays, ["Jazz"])
        if genres is not None:
            raise AnalysisError("genres given twice")
        genres = filters
    return TrackFilter.of(genres, emotions, quadrants, emotion_top_k=emotion_top_k, emotion_threshold=emotion_threshold)


def _rows_mask(subset: np.ndarray | Iterable[int], n: int) -> np.ndarray:
    arr = np.asarray(list(subset) if not isinstance(subset, np.ndarray) else subset)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise AnalysisError(f"subset mask has shape {arr.shape}, expected ({n},)")
        return arr
    mask = np.zeros(n, dtype=bool)
    if arr.size:
        if arr.min() < 0 or arr.max() >= n:
            raise AnalysisError("subset row index out of range")
        mask[arr.astype(np.int64)] = True
    return mask


def _scene_visible(scene_rows: np.ndarray, n_all: int, coords: np.ndarray, visible: Visible) -> Visible:
    """A mask may cover the scene's points or the whole library; boxes pass through."""
    if visible is None:
        return None
    arr = np.asarray(visible)
    if arr.dtype == bool and arr.shape == (n_all,) and n_all != len(scene_rows):
        return arr[scene_rows]
    return visible


def _matrix(values: Any, n_all: int, rows: np.ndarray, what: str) -> np.ndarray:
    """Rows of a (N, D) float32 array; an empty library may hand over arrays of any empty shape."""
    arr = np.asarray(values, dtype=np.float32)
    if arr.size == 0:
        width = arr.shape[1] if arr.ndim == 2 else 0
        return np.zeros((len(rows), width), np.float32)
    if arr.ndim != 2 or arr.shape[0] != n_all:
        raise AnalysisError(f"{what} has shape {arr.shape}, expected ({n_all}, D)")
    if len(rows) == n_all:  # everything in view (rows are sorted and unique): no copy
        return arr
    return arr[rows]


def _axes(
    arrays: LibraryArrays,
    rows: np.ndarray,
    coords: np.ndarray,
    visible: Visible,
    specs: Sequence[PoleSpec],
    desc: np.ndarray | None = None,
    sums: ColumnSums | None = None,
) -> tuple[list[AxisLabel], np.ndarray]:
    from explorer.analysis.axes import visible_mask

    mask = visible_mask(coords, _scene_visible(rows, len(arrays), coords, visible))
    if desc is None:
        desc = _matrix(arrays.descriptors, len(arrays), rows, "descriptors")
    return interpret_axes(coords, desc, specs, mask, sums=sums), mask


def build_map_scene(
    arrays: LibraryArrays,
    filters: Any = None,
    k: str | int = "auto",
    visible: Visible = None,
    *,
    genres: Iterable[str] | None = None,
    emotions: Iterable[str] | None = None,
    quadrants: Iterable[Any] | None = None,
    seed: int = 0,
    subset: np.ndarray | Iterable[int] | None = None,
    emotion_top_k: int = 3,
    emotion_threshold: float | None = None,
    descriptor_specs: Sequence[Any] | None = None,
) -> MapScene:
    """The map for the tracks passing `filters` (a TrackFilter, or genres/emotions/quadrants keywords) and, when
    given, `subset` (extra row mask or indices, e.g. a ground-truth selection). `visible` (bounding box or mask)
    only affects the axis labels."""
    filt = _as_filter(filters, genres, emotions, quadrants, emotion_top_k, emotion_threshold)
    n_all = len(arrays)
    mask = filter_mask(arrays, filt)
    if subset is not None:
        mask &= _rows_mask(subset, n_all)
    rows = np.flatnonzero(mask).astype(np.int64)
    notes: list[str] = []
    if not len(rows):
        notes.append(
            f"no tracks match {filt.describe()}"
            if not filt.is_empty or subset is not None
            else "the library has no analysed tracks"
        )

    with _single_threaded_blas():
        emb = _matrix(arrays.embeddings, n_all, rows, "embeddings")
        fit = fit_pca(emb, 2)  # the axes first, so one pass over the rows places them and assigns their clusters
        sub = find_subcategories(emb, k, seed=seed, products_with=fit.components)
        proj = fit.with_products(sub.products) if sub.products is not None else fit
        if len(rows):
            notes.extend(sub.notes)
        specs = pole_specs(list(arrays.descriptor_names), descriptor_specs)
        desc = _fill_nans(_matrix(arrays.descriptors, n_all, rows, "descriptors"))
        sums = ColumnSums.of(desc)  # one pass over the descriptor table, shared by the axis labels and profiles
        axis_labels, vis = _axes(arrays, rows, proj.coords, visible, specs, desc, sums)
        profiles = cluster_profiles(desc, sub.labels, specs, sub.k, sums=sums)
    reps = np.array([rows[r] if r >= 0 else -1 for r in sub.representatives], dtype=np.int64)
    return MapScene(
        indices=rows,
        track_ids=np.asarray(arrays.track_ids, dtype=np.int64)[rows],
        coords=proj.coords,
        explained_variance=proj.explained_variance_ratio.astype(np.float64),
        labels=sub.labels,
        k=sub.k,
        k_auto=sub.auto,
        k_scores=sub.scores,
        colours=palette(sub.k),
        representatives=reps,
        axis_labels=axis_labels,
        profiles=profiles,
        filter=filt,
        visible=vis,
        approximate=sub.approximate,
        notes=notes,
    )


def refresh_axes(
    scene: MapScene, arrays: LibraryArrays, visible: Visible, descriptor_specs: Sequence[Any] | None = None
) -> MapScene:
    """The same scene with axis labels recomputed for the `visible` tracks (after a zoom or pan)."""
    specs = pole_specs(list(arrays.descriptor_names), descriptor_specs)
    with _single_threaded_blas():
        axis_labels, vis = _axes(arrays, scene.indices, scene.coords, visible, specs)
    return dataclasses.replace(scene, axis_labels=axis_labels, visible=vis)
