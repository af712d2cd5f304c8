"""Synthetic LibraryArrays and FeatureArrays with known structure, for tests and benchmarks that need no audio.

Tracks come from `n_clusters` Gaussian groups in a 128-d embedding space; every descriptor is a noisy linear read-out
of the embedding, so the PCA axes genuinely correlate with some descriptors (as on real music) and the
interpretation code has something true to find.
"""

from __future__ import annotations

import numpy as np

from core.datasets import FeatureArrays
from core.emotions import TAGS
from explorer.library.arrays import LibraryArrays


def synthetic_library(
    n: int,
    *,
    n_clusters: int = 8,
    dim: int = 128,
    n_descriptors: int = 20,
    genre_names: tuple[str, ...] = ("Pop", "Rock", "Jazz", "Classical", "Electronic", "Hip-Hop", "Unknown"),
    tag_names: tuple[str, ...] = TAGS,  # the app's 12 emotion tags, in the model's order
    seed: int = 0,
) -> LibraryArrays:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)) * 2.0
    group = rng.integers(0, n_clusters, size=n)
    emb = (centres[group] + rng.normal(size=(n, dim))).astype(np.float32)
    readout = rng.normal(size=(dim, n_descriptors)) / np.sqrt(dim)
    desc = (emb @ readout + 0.5 * rng.normal(size=(n, n_descriptors))).astype(np.float32)
    g = len(genre_names)
    genres = np.zeros((n, g), dtype=np.float32)
    genres[np.arange(n), group % g] = 1.0
    extra = rng.random(n) < 0.2
    genres[np.flatnonzero(extra), rng.integers(0, g, extra.sum())] = 1.0
    tag_logits = rng.normal(size=(n, len(tag_names))) + np.eye(len(tag_names))[group % len(tag_names)] * 2
    tag_scores = np.exp(tag_logits) / np.exp(tag_logits).sum(axis=1, keepdims=True)
    q_logits = rng.normal(size=(n, 4)) + np.eye(4)[group % 4] * 2
    quadrant_probs = np.exp(q_logits) / np.exp(q_logits).sum(axis=1, keepdims=True)
    return LibraryArrays(
        track_ids=np.arange(1, n + 1, dtype=np.int64),
        paths=[f"/music/synthetic/{i:06d}.flac" for i in range(n)],
        titles=[f"Track {i}" for i in range(n)],
        artists=[f"Artist {group[i]}" for i in range(n)],
        albums=["" for _ in range(n)],
        genre_names=list(genre_names),
        genres=genres,
        tag_names=list(tag_names),
        tag_scores=tag_scores.astype(np.float32),
        quadrant_probs=quadrant_probs.astype(np.float32),
        embeddings=emb,
        descriptor_names=[f"descriptor_{j:02d}" for j in range(n_descriptors)],
        descriptors=desc,
        durations=np.full(n, 30.0, dtype=np.float32),
        excerpt_starts=np.zeros(n, dtype=np.float32),
        liked=np.zeros(n, dtype=np.int8),
    )


def synthetic_feature_arrays(n: int = 96, frames: int = 48, seed: int = 0, n_genres: int = 10) -> FeatureArrays:
    """Training arrays with balanced quadrants that every branch can learn: the low-level descriptors and the genre
    vector lean towards the quadrant, and the mel has more energy in a quadrant-specific band. Tags follow the
    quadrant (two graded tags per quadrant), so ranking is learnable too."""
    rng = np.random.default_rng(seed)
    quadrant = np.arange(n, dtype=np.int64) % 4
    rng.shuffle(quadrant)
    lowlevel = rng.normal(size=(n, 8)).astype(np.float32)
    lowlevel[np.arange(n), quadrant] += 3.0
    genre = (rng.random((n, n_genres)) < 0.1).astype(np.float32)
    genre[np.arange(n), quadrant % n_genres] = 1.0
    relevance = np.zeros((n, 12), dtype=np.float32)
    relevance[np.arange(n), quadrant * 3] = 2.0
    relevance[np.arange(n), quadrant * 3 + 1] = 1.0
    mel = rng.normal(size=(n, 48, frames)).astype(np.float32)
    for q in range(4):
        mel[quadrant == q, q * 12 : (q + 1) * 12, :] += 2.0
    lengths = rng.integers(frames // 2, frames + 1, size=n).astype(np.int64)
    for i, length in enumerate(lengths):
        mel[i, :, length:] = mel[i].min()
    return FeatureArrays(
        song_ids=[f"s{i}" for i in range(n)],
        lowlevel=lowlevel,
        genre=genre,
        relevance=relevance,
        quadrant=quadrant,
        mel=mel,
        mel_lengths=lengths,
    )
