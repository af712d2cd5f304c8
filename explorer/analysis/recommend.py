"""Recommend tracks from likes and dislikes, each with a reason a person can check.

Embeddings are L2-normalised, the taste vector is  mean(liked) - mean(disliked),  and every other track is ranked by
its cosine similarity to it. Tracks already liked or disliked are never recommended. The explanation names the liked
track nearest to the recommendation ("near <title>, which you liked"), so the user can verify it by listening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.analysis.errors import AnalysisError


@dataclass
class Recommendation:
    index: int  # row in the arrays
    score: float  # cosine similarity to the taste vector, -1..1
    nearest_liked: int | None  # row of the most similar liked track (None without likes)
    nearest_similarity: float  # cosine similarity to that liked track (nan without likes)
    explanation: str


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _rows(values: Sequence[int], n: int, what: str) -> np.ndarray:
    rows = np.unique(np.asarray(list(values), dtype=np.int64))
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise AnalysisError(f"{what} track index out of range 0..{n - 1}")
    return rows


def _name(i: int, titles: Sequence[str] | None) -> str:
    if titles is not None and titles[i]:
        return f"“{titles[i]}”"
    return f"track #{i}"


def recommend(
    embeddings: np.ndarray,
    liked: Sequence[int],
    disliked: Sequence[int] = (),
    *,
    n: int = 10,
    titles: Sequence[str] | None = None,
    candidates: np.ndarray | None = None,
) -> list[Recommendation]:
    """Top-`n` rows by cosine similarity to the taste vector. `candidates` (mask or row indices) restricts the pool,
    e.g. to the tracks passing the current filter."""
    emb = np.asarray(embeddings)
    if emb.ndim != 2:
        raise AnalysisError(f"embeddings must be (N, D), got shape {emb.shape}")
    total = emb.shape[0]
    likes = _rows(liked, total, "liked")
    dislikes = _rows(disliked, total, "disliked")
    if len(np.intersect1d(likes, dislikes)):
        raise AnalysisError("a track cannot be both liked and disliked")
    if not len(likes) and not len(dislikes):
        raise AnalysisError("like (or dislike) at least one track to get recommendations")
    if n < 1:
        return []
    unit = _normalise(emb)
    taste = np.zeros(unit.shape[1])
    if len(likes):
        taste += unit[likes].mean(axis=0)
    if len(dislikes):
        taste -= unit[dislikes].mean(axis=0)
    if np.linalg.norm(taste) < 1e-9:  # likes and dislikes cancel out: fall back to the likes alone
        taste = unit[likes].mean(axis=0) if len(likes) else -unit[dislikes].mean(axis=0)
    taste /= max(np.linalg.norm(taste), 1e-12)

    pool = np.ones(total, dtype=bool)
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.dtype == bool:
            if cand.shape != (total,):
                raise AnalysisError(f"candidate mask has shape {cand.shape}, expected ({total},)")
            pool = cand.copy()
        else:
            pool = np.zeros(total, dtype=bool)
            pool[_rows(cand, total, "candidate")] = True
    pool[likes] = False
    pool[dislikes] = False
    rows = np.flatnonzero(pool)
    if not len(rows):
        return []
    scores = unit[rows] @ taste
    order = np.lexsort((rows, -scores))[:n]  # best first, ties by row for determinism
    picked, picked_scores = rows[order], scores[order]

    if len(likes):
        sims = unit[picked] @ unit[likes].T  # (n, L)
        near = likes[sims.argmax(axis=1)]
        near_sim = sims.max(axis=1)
    else:
        far_sims = unit[picked] @ unit[dislikes].T

    out = []
    for i, (row, score) in enumerate(zip(picked, picked_scores)):
        if len(likes):
            why = f"near {_name(int(near[i]), titles)}, which you liked (similarity {near_sim[i]:.2f})"
            out.append(Recommendation(int(row), float(score), int(near[i]), float(near_sim[i]), why))
        else:
            closest = int(far_sims[i].argmax())
            why = (
                f"far from what you disliked (closest: {_name(int(dislikes[closest]), titles)}, "
                f"similarity {far_sims[i, closest]:.2f})"
            )
            out.append(Recommendation(int(row), float(score), None, float("nan"), why))
    return out


def liked_rows(liked_flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(liked rows, disliked rows) from a LibraryArrays.liked vector (+1 like, -1 dislike, 0 neither)."""
    flags = np.asarray(liked_flags)
    return np.flatnonzero(flags > 0), np.flatnonzero(flags < 0)
