"""Subcategories of the tracks in view: K-means for K = 2..6 in embedding space, K picked by centroid separation.

The paper picks K by "the largest distance between cluster centroids". Taken literally that grows with K, so it is
made scale-free here:

    separation(K) = min over cluster pairs of ||c_a - c_b||  /  mean over tracks of ||x - c_own(x)||

i.e. how far apart the two CLOSEST subcategories are, in units of the typical distance of a track to its own
centre. Splitting a real group in two creates a close pair (small numerator); merging two real groups inflates the
spread (large denominator); so the K that matches the data's grouping scores highest. Near-ties (within 5 % of the
best score, well inside the score's sampling noise on a few dozen tracks) go to the smaller K;
a K whose smallest subcategory is a single track is only chosen when no other K is possible, and a best score below
1 (centres closer than a typical track to its own centre) adds a "no clearly separated groups" note.
The silhouette score of every K is reported next to it, as a second opinion the UI can show.

Clustering runs on the raw 128-d embeddings (not standardised by default), i.e. in the same geometry the PCA map
shows, so colours agree with distances on the map. Above `max_points` tracks, K is chosen on a seeded random
sample and the result is flagged `approximate`; every track is then assigned to its nearest centre (and, up to
`refine_points` tracks, Lloyd-refined on all of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.analysis.errors import AnalysisError
from explorer.analysis.kmeans import kmeans, lloyd, sq_distances

K_RANGE = (2, 6)
MAX_POINTS = 2000  # K-means sample size for choosing K
REFINE_POINTS = 20000  # up to this many tracks, the chosen clustering is refined on every track
REFINE_ITERATIONS = 5  # sample centroids are already close: a few full-data Lloyd steps settle them
SILHOUETTE_POINTS = 1000  # silhouette estimated on at most this many tracks (it costs O(n^2))
WEAK_SEPARATION = 1.0  # below this the groups overlap; the UI is told so in a note
K_TIE = 0.05  # a larger K must separate more than 5 % better than a smaller one to be chosen


@dataclass
class KScore:
    k: int
    separation: float  # the selection criterion above (higher = better separated)
    silhouette: float  # mean silhouette on the scoring sample, nan when undefined
    inertia: float  # within-cluster sum of squares on the fitting sample
    min_size: int = 0  # tracks in the smallest subcategory (on the fitting sample)


@dataclass
class Subcategories:
    labels: np.ndarray  # (N,) int64, cluster 0 is the largest
    k: int
    centroids: np.ndarray  # (k, D) float32, in the input space
    representatives: np.ndarray  # (k,) int64 row index of the track nearest each centroid
    sizes: np.ndarray  # (k,) int64
    scores: list[KScore] = field(default_factory=list)
    auto: bool = True  # K chosen by the criterion (False: user override)
    approximate: bool = False  # K chosen / clusters seeded on a sample
    sample_size: int = 0  # tracks used to fit (== N when exact)
    notes: list[str] = field(default_factory=list)
    products: np.ndarray | None = None  # (N, E) each row's dot products with `products_with`, when asked for

    @property
    def chosen_score(self) -> KScore | None:
        return next((s for s in self.scores if s.k == self.k), None)


def separation_score(
    x: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    *,
    x_sq: np.ndarray | None = None,
    spread: float | None = None,
) -> float:
    """min pairwise centroid distance / mean distance of each point to its own centroid (see module doc)."""
    k = centroids.shape[0]
    if k < 2 or len(x) == 0:
        return 0.0
    diff = centroids[:, None, :].astype(np.float64) - centroids[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    min_between = float(dist[np.triu_indices(k, 1)].min())
    if x_sq is None:
        x_sq = np.einsum("nd,nd->n", x, x)
    own = np.sqrt(sq_distances(x, x_sq, centroids)[np.arange(len(x)), labels])
    if spread is None:
        spread = float(np.sqrt(np.var(x, axis=0).sum()))
    floor = 1e-9 * (spread + 1e-30)  # all tracks on their centres: separated by any positive distance
    return min_between / max(float(own.mean()), floor)


def _pairwise_distances(x: np.ndarray) -> np.ndarray:
    """float32 is plenty for a silhouette estimate and halves the cost of the n x n product."""
    x32 = np.asarray(x, dtype=np.float32)
    x32 = x32 - x32.mean(axis=0)  # centring keeps the |a|^2 + |b|^2 - 2ab cancellation small
    sq = np.einsum("nd,nd->n", x32, x32)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x32 @ x32.T)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(np.maximum(d2, 0.0, out=d2), out=d2)


def silhouette_from_distances(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a precomputed distance matrix (shared by all K). Singletons score 0, as is usual."""
    n = len(labels)
    k = int(labels.max()) + 1 if n else 0
    if k < 2 or k >= n:
        return float("nan")
    one_hot = np.zeros((n, k), dtype=dist.dtype)
    one_hot[np.arange(n), labels] = 1.0
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = (dist @ one_hot).astype(np.float64)  # (n, k) summed distance to each cluster
    own_count = counts[labels]
    a = sums[np.arange(n), labels] / np.maximum(own_count - 1, 1)
    mean_other = sums / np.maximum(counts, 1)[None, :]
    mean_other[np.arange(n), labels] = np.inf
    mean_other[:, counts == 0] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.where((own_count > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(s.mean())


def _order_by_size(labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel so cluster 0 is the largest (ties: the one holding the lowest row), for stable colours. Clusters
    left empty when all tracks are assigned to sample-fitted centres are dropped. Also returns the old index of
    each new cluster."""
    k = centroids.shape[0]
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    order = np.lexsort((first, -sizes))
    order = order[sizes[order] > 0]
    remap = np.full(k, -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels], centroids[order], order


def _representatives(labels: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Row of the member nearest each centre (ties: the lowest row), from the (N, K) squared distances."""
    k = d2.shape[1]
    reps = np.full(k, -1, dtype=np.int64)
    if not len(labels):
        return reps
    for j in range(k):  # k <= a handful: k masked argmins beat sorting N rows
        members = labels == j
        if members.any():
            reps[j] = int(np.argmin(np.where(members, d2[:, j], np.inf)))  # argmin: ties go to the lowest row
    return reps


def _distinct_count(x: np.ndarray, cap: int) -> int:
    """Number of distinct rows, only counted exactly for small inputs (large ones have plenty)."""
    if len(x) > 256:
        return len(x)
    return min(len(np.unique(x, axis=0)), cap) if len(x) else 0


def find_subcategories(
    x: np.ndarray,
    k: str | int = "auto",
    *,
    k_range: tuple[int, int] = K_RANGE,
    seed: int = 0,
    n_init: int = 3,
    standardize: bool = False,
    max_points: int = MAX_POINTS,
    refine_points: int = REFINE_POINTS,
    products_with: np.ndarray | None = None,
) -> Subcategories:
    """Cluster (N, D) rows. `k="auto"` picks K in `k_range` by `separation_score`; an int overrides it (clipped
    to what the data allows, with a note). Deterministic for a given seed.

    `products_with` (E, D): also return every row's dot products with these vectors (`.products`), computed in
    the same matrix product that assigns the rows to their centres: the map passes its PCA axes, so a 10^6-row
    table is read once for both (two separate narrow products cost 160 ms more there)."""
    data = np.asarray(x, dtype=np.float32)
    if data.ndim != 2:
        raise AnalysisError(f"embeddings must be (N, D), got shape {data.shape}")
    auto = isinstance(k, str)
    if auto and k != "auto":
        raise AnalysisError(f"k must be 'auto' or an integer, got {k!r}")
    if not auto and int(k) < 1:
        raise AnalysisError(f"k must be >= 1, got {k}")
    n = data.shape[0]
    notes: list[str] = []
    if n == 0:
        return Subcategories(
            np.zeros(0, np.int64),
            0,
            np.zeros((0, data.shape[1]), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            auto=auto,
            notes=["no tracks in view"],
        )
    space = data
    if standardize:
        std = data.std(axis=0)
        space = (data - data.mean(axis=0)) / np.where(std > 0, std, 1.0)
    # squared row norms: needed for the distances below, and a NaN/inf anywhere in a row makes its norm non-finite,
    # so the finiteness check costs no extra pass over a 10^6-row table (only overflowing norms need the full one)
    space_sq = np.einsum("nd,nd->n", space, space)
    if not np.isfinite(space_sq).all() and not np.isfinite(data).all():
        raise AnalysisError("embeddings contain NaN or infinite values")

    rng = np.random.default_rng([seed, 7919])
    if n > max_points:
        sample = np.sort(rng.choice(n, size=max_points, replace=False))
        approximate = True
    else:
        sample = np.arange(n)
        approximate = False
    xs = space[sample]
    distinct = _distinct_count(xs, cap=n)
    k_lo, k_hi = k_range
    k_hi = min(k_hi, len(sample) - 1, distinct)

    scores: list[KScore] = []
    fits = {}
    if k_hi >= k_lo:
        score_idx = np.arange(len(sample))
        if len(score_idx) > SILHOUETTE_POINTS:
            score_idx = np.sort(rng.choice(len(sample), size=SILHOUETTE_POINTS, replace=False))
        dist = _pairwise_distances(xs[score_idx])
        xs_sq = space_sq[sample]
        var = np.var(xs, axis=0)
        rms, mean_var = float(np.sqrt(var.sum())), float(var.mean())
        for kk in range(k_lo, k_hi + 1):
            fit = kmeans(xs, kk, seed=seed, n_init=n_init, mean_var=mean_var)
            fits[kk] = fit
            scores.append(
                KScore(
                    kk,
                    separation_score(xs, fit.labels, fit.centroids, x_sq=xs_sq, spread=rms),
                    silhouette_from_distances(dist, fit.labels[score_idx]),
                    fit.inertia,
                    int(np.bincount(fit.labels, minlength=kk).min()),
                )
            )

    if auto:
        if scores:
            # a "subcategory" of one track is an outlier, not a group: prefer K without singletons
            pool = [s for s in scores if s.min_size >= 2] or scores
            best = max(s.separation for s in pool)
            chosen = next(s.k for s in pool if s.separation >= best * (1 - K_TIE))
            if best <= 0.0:  # every split puts two centres on the same spot: the tracks are (near) identical
                chosen = 1
                notes.append("the tracks in view are indistinguishable in embedding space: one subcategory")
            elif best < WEAK_SEPARATION:
                notes.append(
                    f"no clearly separated groups: even for K = {chosen} the closest subcategory centres "
                    f"are nearer than a typical track is to its own centre"
                )
        else:
            chosen = 1
            notes.append(f"too few distinct tracks ({distinct}) to split into subcategories")
    else:
        chosen = min(int(k), distinct, len(sample))
        if chosen != int(k):
            notes.append(f"K = {int(k)} requested but only {chosen} subcategories are possible here")

    if chosen in fits:
        centroids = fits[chosen].centroids
    elif chosen == 1:
        centroids = xs.mean(axis=0, keepdims=True)
    else:
        centroids = kmeans(xs, chosen, seed=seed, n_init=n_init).centroids

    if approximate and n <= refine_points and chosen > 1:
        centroids = lloyd(space, centroids, max_iter=REFINE_ITERATIONS, x_sq=space_sq).centroids
    d2, products = _assign_pass(data, space, space_sq, centroids, products_with)
    labels, centroids, order = _order_by_size(d2.argmin(axis=1).astype(np.int64), centroids)
    if approximate:
        how = "refined on" if n <= refine_points and chosen > 1 else "then assigned"
        notes.append(f"approximate clustering: K chosen on a {len(sample):,}-track sample, {how} all {n:,} tracks")
    reps = _representatives(labels, d2[:, order])
    if standardize:  # report centres in the input space so callers can compare them with embeddings
        centroids = np.stack([data[labels == j].mean(axis=0) for j in range(centroids.shape[0])])
    sizes = np.bincount(labels, minlength=centroids.shape[0]).astype(np.int64)
    return Subcategories(
        labels,
        int(centroids.shape[0]),
        centroids.astype(np.float32),
        reps,
        sizes,
        scores,
        auto,
        approximate,
        int(len(sample)),
        notes,
        products,
    )


def _assign_pass(
    data: np.ndarray, space: np.ndarray, space_sq: np.ndarray, centroids: np.ndarray, extra: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, K) squared distances to the centres (labels and representatives come from it) and, for `extra`
    vectors, the rows' (N, E) dot products with them, from one product with [centres; extra]."""
    if extra is None:
        return sq_distances(space, space_sq, centroids), None
    extra = np.asarray(extra, dtype=np.float32).reshape(-1, data.shape[1])
    if space is not data:  # standardised clustering space: the extra products are on the raw rows
        return sq_distances(space, space_sq, centroids), data @ np.ascontiguousarray(extra.T)
    k = centroids.shape[0]
    both = data @ np.ascontiguousarray(np.concatenate([centroids.astype(np.float32), extra]).T)
    d2 = np.ascontiguousarray(both[:, :k])  # contiguous first: the four passes below were 3x slower strided
    d2 *= -2.0
    d2 += space_sq[:, None]
    d2 += np.einsum("kd,kd->k", centroids, centroids)[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2, np.ascontiguousarray(both[:, k:])
