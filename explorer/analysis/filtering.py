"""Select the tracks in view by genre, emotion and quadrant, and count facets for the UI's selectors.

Every facet is any-of within itself (ticking Jazz and Blues shows tracks of either) and the facets combine with AND
(Jazz x Romantic is the paper's case study). Emotions are model predictions, so "has the tag" needs a rule: a track
carries a tag when the tag is among its top-k predicted tags, or when its score reaches an optional threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.emotions import QUADRANTS
from explorer.analysis.errors import AnalysisError
from explorer.library.arrays import LibraryArrays

QUADRANT_NAMES = QUADRANTS  # "Q1".."Q4", from resources/emotions.json
DEFAULT_TOP_K = 3


@dataclass(frozen=True)
class TrackFilter:
    """What the user ticked. Empty/None facets do not filter."""

    genres: tuple[str, ...] = ()
    emotions: tuple[str, ...] = ()
    quadrants: tuple[str, ...] = ()
    emotion_top_k: int = DEFAULT_TOP_K  # 0 disables the top-k rule
    emotion_threshold: float | None = None  # softmax score at or above which a tag counts, None disables

    @classmethod
    def of(
        cls,
        genres: Iterable[str] | None = None,
        emotions: Iterable[str] | None = None,
        quadrants: Iterable[str | int] | None = None,
        *,
        emotion_top_k: int = DEFAULT_TOP_K,
        emotion_threshold: float | None = None,
    ) -> TrackFilter:
        """Build from loose input (a single string counts as one name; quadrants may be 1..4 or "Q1".."Q4")."""
        return cls(
            genres=_as_names(genres),
            emotions=_as_names(emotions),
            quadrants=tuple(_quadrant_name(q) for q in _as_list(quadrants)),
            emotion_top_k=int(emotion_top_k),
            emotion_threshold=None if emotion_threshold is None else float(emotion_threshold),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.genres or self.emotions or self.quadrants)

    def describe(self) -> str:
        parts = []
        if self.genres:
            parts.append(" or ".join(self.genres))
        if self.emotions:
            parts.append(" or ".join(self.emotions))
        if self.quadrants:
            parts.append(" or ".join(self.quadrants))
        return " × ".join(parts) if parts else "all tracks"


def _as_list(values) -> list:
    if values is None:
        return []
    if isinstance(values, (str, int, np.integer)):
        return [values]
    return list(values)


def _as_names(values) -> tuple[str, ...]:
    return tuple(str(v) for v in _as_list(values))


def _quadrant_name(q) -> str:
    if isinstance(q, (int, np.integer)) and 1 <= int(q) <= 4:
        return f"Q{int(q)}"
    text = str(q).strip().upper()
    if text in QUADRANT_NAMES:
        return text
    if text in {"1", "2", "3", "4"}:
        return "Q" + text
    raise AnalysisError(f"unknown quadrant {q!r}; expected one of {', '.join(QUADRANT_NAMES)}")


def _column_indices(wanted: Sequence[str], vocabulary: Sequence[str], what: str) -> list[int]:
    """Names are matched case-insensitively; an unknown name is an error, not a silent empty result."""
    lookup = {name.casefold(): i for i, name in enumerate(vocabulary)}
    out = []
    for name in wanted:
        i = lookup.get(name.strip().casefold())
        if i is None:
            raise AnalysisError(f"unknown {what} {name!r}; known: {', '.join(vocabulary)}")
        out.append(i)
    return out


def emotion_membership(
    tag_scores: np.ndarray,
    top_k: int = DEFAULT_TOP_K,
    threshold: float | None = None,
    columns: Sequence[int] | None = None,
) -> np.ndarray:
    """(N, C) bool: track i carries tag columns[c] (top-k rule OR threshold rule); all tags when columns is None.

    A tag's rank is the number of tags scoring higher, ties going to the earlier tag, so exactly k tags pass the
    top-k rule on every track. Counting per requested column is cheaper than sorting every row."""
    scores = np.asarray(tag_scores, dtype=np.float32)
    if scores.ndim != 2:
        raise AnalysisError(f"tag_scores must be (N, T), got shape {scores.shape}")
    if top_k < 0:
        raise AnalysisError("emotion_top_k must be >= 0")
    n, t = scores.shape
    cols = list(range(t)) if columns is None else [int(c) for c in columns]
    member = np.zeros((n, len(cols)), dtype=bool)
    if n == 0:
        return member
    if top_k:
        for out, j in enumerate(cols):
            own = scores[:, j : j + 1]
            rank = (scores[:, :j] >= own).sum(axis=1) + (scores[:, j + 1 :] > own).sum(axis=1)
            member[:, out] = rank < top_k
    if threshold is not None:
        member |= scores[:, cols] >= float(threshold)
    return member


def quadrant_of(quadrant_probs: np.ndarray) -> np.ndarray:
    """(N,) int 0..3: the most probable quadrant of each track."""
    probs = np.asarray(quadrant_probs)
    if probs.ndim != 2 or probs.shape[1] != 4:
        raise AnalysisError(f"quadrant_probs must be (N, 4), got shape {probs.shape}")
    return probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)


def _table(values, n: int, width: int) -> np.ndarray:
    """(n, width) view of a per-track table; an empty library may hand over arrays of any empty shape."""
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros((n, width), dtype=np.float32)
    if arr.shape != (n, width):
        raise AnalysisError(f"per-track table has shape {arr.shape}, expected ({n}, {width})")
    return arr


def _facet_masks(arrays: LibraryArrays, filt: TrackFilter) -> dict[str, np.ndarray]:
    n = len(arrays)
    masks: dict[str, np.ndarray] = {}
    if filt.genres:
        cols = _column_indices(filt.genres, arrays.genre_names, "genre")
        masks["genres"] = (_table(arrays.genres, n, len(arrays.genre_names))[:, cols] > 0.5).any(axis=1)
    if filt.emotions:
        cols = _column_indices(filt.emotions, arrays.tag_names, "emotion")
        member = emotion_membership(
            _table(arrays.tag_scores, n, len(arrays.tag_names)),
            filt.emotion_top_k,
            filt.emotion_threshold,
            columns=cols,
        )
        masks["emotions"] = member.any(axis=1)
    if filt.quadrants:
        wanted = [QUADRANT_NAMES.index(q) for q in filt.quadrants]
        masks["quadrants"] = np.isin(quadrant_of(_table(arrays.quadrant_probs, n, 4)), wanted)
    return masks


def filter_mask(arrays: LibraryArrays, filt: TrackFilter | None = None) -> np.ndarray:
    """(N,) bool: tracks passing every facet of `filt`."""
    mask = np.ones(len(arrays), dtype=bool)
    if filt is None:
        return mask
    for facet in _facet_masks(arrays, filt).values():
        mask &= facet
    return mask


def filter_tracks(arrays: LibraryArrays, filt: TrackFilter | None = None, **facets) -> np.ndarray:
    """Sorted int64 row indices of the tracks in view. `facets` are TrackFilter.of keywords, for brevity."""
    if facets:
        if filt is not None:
            raise AnalysisError("pass either a TrackFilter or facet keywords, not both")
        filt = TrackFilter.of(**facets)
    return np.flatnonzero(filter_mask(arrays, filt)).astype(np.int64)


@dataclass
class FacetCounts:
    """Counts shown next to each selector entry: how many tracks the entry would add, given the OTHER facets."""

    genres: dict[str, int] = field(default_factory=dict)
    emotions: dict[str, int] = field(default_factory=dict)
    quadrants: dict[str, int] = field(default_factory=dict)
    total: int = 0  # tracks passing the whole filter


def facet_counts(arrays: LibraryArrays, filt: TrackFilter | None = None) -> FacetCounts:
    """Per-entry counts, each facet counted under the other facets' selections (the usual faceted-search rule:
    ticking a genre does not zero the other genres' counts)."""
    filt = filt or TrackFilter()
    n = len(arrays)
    masks = _facet_masks(arrays, filt)

    def others(name: str) -> np.ndarray:
        m = np.ones(n, dtype=bool)
        for key, facet in masks.items():
            if key != name:
                m &= facet
        return m

    base = others("genres")
    genre_hot = _table(arrays.genres, n, len(arrays.genre_names)) > 0.5
    genres = {g: int(c) for g, c in zip(arrays.genre_names, genre_hot[base].sum(axis=0))}

    base = others("emotions")
    scores = _table(arrays.tag_scores, n, len(arrays.tag_names))
    member = emotion_membership(scores, filt.emotion_top_k, filt.emotion_threshold)
    emotions = {t: int(c) for t, c in zip(arrays.tag_names, member[base].sum(axis=0))}

    base = others("quadrants")
    quad = quadrant_of(_table(arrays.quadrant_probs, n, 4))[base]
    quadrants = {q: int((quad == i).sum()) for i, q in enumerate(QUADRANT_NAMES)}

    total = int(filter_mask(arrays, filt).sum())
    return FacetCounts(genres=genres, emotions=emotions, quadrants=quadrants, total=total)
