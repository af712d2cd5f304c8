"""The numpy view of an indexed library: what the cache hands to analysis and the UI (no Qt, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LibraryArrays:
    """Row i of every array describes the same analysed track. Vectors are float32."""

    track_ids: np.ndarray  # (N,) int64, cache primary keys
    paths: list[str]  # absolute paths
    titles: list[str]
    artists: list[str]
    albums: list[str]
    genre_names: list[str]  # canonical genre vocabulary (core.features.genre.GENRES)
    genres: np.ndarray  # (N, G) float32 multi-hot over genre_names
    tag_names: list[str]  # the 12 emotion tags, model order
    tag_scores: np.ndarray  # (N, 12) float32, softmax over tags (ListNet top-one probabilities)
    quadrant_probs: np.ndarray  # (N, 4) float32, Q1..Q4
    embeddings: np.ndarray  # (N, 128) float32, QuadFusionNet fusion embedding
    descriptor_names: list[str]  # interpretive descriptors (resources/descriptors.json order)
    descriptors: np.ndarray  # (N, D) float32
    durations: np.ndarray  # (N,) float32 seconds
    excerpt_starts: np.ndarray  # (N,) float32 seconds: where the analysed excerpt starts
    muq: np.ndarray | None = None  # (N, 1024) float32 when MuQ ran
    musicnn: np.ndarray | None = None  # (N, 250) float32 MusiCNN-MSD (embedding + tags), on request
    genre_inferred: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (N,) genre from audio
    liked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))  # (N,) +1 like, -1 dislike, 0
    # Teaching (explorer/library/teaching.py): quadrant_probs / tag_scores above are calibrated by the library's
    # corrections; these are the model's own values (the same arrays when nothing was taught).
    raw_quadrant_probs: np.ndarray | None = None  # (N, 4)
    raw_tag_scores: np.ndarray | None = None  # (N, 12)
    corrections_applied: int = 0  # how many stored corrections shaped the calibrated values

    def __len__(self) -> int:
        return int(self.track_ids.shape[0])

    def genre_text(self, row: int) -> str:
        """The track's genres as shown to people: 'Jazz, Blues', or 'Electronic (from audio)' when inferred."""
        from core.features.genre_infer import display_genres

        names = [g for g, on in zip(self.genre_names, self.genres[row]) if on > 0.5]
        inferred = bool(self.genre_inferred[row]) if len(self.genre_inferred) == len(self) else False
        return display_genres(names, inferred)
