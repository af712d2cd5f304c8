"""Genres from audio, for files whose tags name none: MusiCNN-MSD tag activations mapped onto the app's genres.

Most personal libraries have untagged or badly tagged files, and the genre filter and the model's genre branch
are blind on them. The MSD tagger's 50 outputs include genre words (rock, jazz, Hip-Hop, country ...); the table
in `resources/musicnn_genres.json` says which MSD tags are evidence for which app genre, and per-genre thresholds
chosen on the 4Q training split (`scripts/choose_genre_threshold.py`) decide when the evidence is enough.

Rules: tag genres always win (`resolve_genres`); an inferred genre is always marked as such where it is stored
(`genre_inferred`) and shown (`display_genres`); inference may return several genres, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from core.features.genre import GENRE_INDEX, GENRES, UNKNOWN, canonical_genres
from core.features.musicnn_tags import MSD_TAGS, N_TAGS
from core.resources import load_json_resource

__all__ = [
    "FROM_AUDIO",
    "TABLE_NAME",
    "display_genres",
    "genre_scores",
    "genre_vectors_from_tags",
    "infer_genres",
    "resolve_genres",
]

TABLE_NAME = "musicnn_genres.json"
FROM_AUDIO = "from audio"  # how an inferred genre is marked wherever it is shown


def _check_table(table: dict[str, Any]) -> None:
    tag_index = {t: i for i, t in enumerate(MSD_TAGS)}
    for genre, tags in table["tags"].items():
        if genre not in GENRE_INDEX or genre == UNKNOWN:
            raise ValueError(f"{TABLE_NAME}: {genre!r} is not an app genre")
        unknown = [t for t in tags if t not in tag_index]
        if unknown:
            raise ValueError(f"{TABLE_NAME}: {unknown} are not MusiCNN-MSD tags")


@lru_cache(maxsize=1)
def _shipped() -> tuple[np.ndarray, np.ndarray]:
    return rules(load_json_resource(TABLE_NAME))


def rules(table: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(G, 50) bool evidence matrix and (G,) thresholds (inf = never inferred) from a mapping table."""
    _check_table(table)
    tag_index = {t: i for i, t in enumerate(MSD_TAGS)}
    evidence = np.zeros((len(GENRES), N_TAGS), dtype=bool)
    for genre, tags in table["tags"].items():
        evidence[GENRE_INDEX[genre], [tag_index[t] for t in tags]] = True
    thresholds = np.full(len(GENRES), np.inf)
    for genre, value in (table.get("thresholds") or {}).items():
        if value is not None:
            thresholds[GENRE_INDEX[genre]] = float(value)
    return evidence, thresholds


def _as_tags(tags: Any) -> np.ndarray:
    arr = np.asarray(tags, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.shape[-1] != N_TAGS:
        raise ValueError(f"expected MusiCNN-MSD tag activations of shape (50,) or (N, 50), got {arr.shape}")
    return arr


def genre_scores(tags: Any, evidence: np.ndarray | None = None) -> np.ndarray:
    """(N, G) per-genre score: the highest activation among its evidence tags (0 for genres without any)."""
    arr = _as_tags(tags).reshape(-1, N_TAGS)
    ev = _shipped()[0] if evidence is None else evidence
    return np.where(ev[None], arr[:, None, :], 0.0).max(axis=2).astype(np.float32)


def genre_vectors_from_tags(tags: Any, table: dict[str, Any] | None = None) -> np.ndarray:
    """(N, G) float32 multi-hot of inferred genres; a row with none gets the Unknown slot, like an untagged file."""
    evidence, thresholds = _shipped() if table is None else rules(table)
    hits = genre_scores(tags, evidence) >= thresholds[None]
    hits[:, GENRE_INDEX[UNKNOWN]] = ~hits.any(axis=1)
    return hits.astype(np.float32)


def infer_genres(tags: Any) -> list[str]:
    """Genres inferred from one excerpt's 50 tag activations, in vocabulary order; possibly empty."""
    vec = genre_vectors_from_tags(_as_tags(tags).reshape(1, N_TAGS))[0]
    return [g for g, v in zip(GENRES, vec) if v and g != UNKNOWN]


def resolve_genres(tag_genre: Any, musicnn_tags: Any | None) -> tuple[list[str], bool]:
    """(genres, inferred): the file's tag genres when they name any, else the genres inferred from its audio.

    Returns (["Unknown"], False) when the tags name nothing and the audio gives no genre (or was not analysed).
    """
    tagged = canonical_genres(tag_genre)
    if tagged != [UNKNOWN] or musicnn_tags is None:
        return tagged, False
    inferred = infer_genres(musicnn_tags)
    return (inferred, True) if inferred else ([UNKNOWN], False)


def display_genres(genres: Sequence[str], inferred: bool) -> str:
    """'Jazz, Blues' for tag genres; 'Electronic (from audio)' for inferred ones, so a person can tell them apart."""
    text = ", ".join(g for g in genres if g) or UNKNOWN
    return f"{text} ({FROM_AUDIO})" if inferred and text != UNKNOWN else text
