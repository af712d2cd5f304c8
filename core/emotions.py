"""The 12 emotion tags and 4 quadrants, and the AllMusic-mood -> tag table (resources/emotions.json).

The table is data, not code, so that the mapping can be audited and changed without touching training.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from core.resources import load_json_resource

_TABLE = load_json_resource("emotions.json")

TAGS: tuple[str, ...] = tuple(entry["name"] for entry in _TABLE["tags"])
QUADRANTS: tuple[str, ...] = tuple(entry["name"] for entry in _TABLE["quadrants"])
QUADRANT_LABELS: dict[str, str] = {entry["name"]: entry["label"] for entry in _TABLE["quadrants"]}

# mood (lower case) -> tags it feeds; a mood may feed several tags
_MOOD_INDEX: dict[str, tuple[str, ...]] = {}
for _entry in _TABLE["tags"]:
    for _mood in _entry["moods"]:
        key = _mood.strip().lower()
        _MOOD_INDEX[key] = _MOOD_INDEX.get(key, ()) + (_entry["name"],)


def split_moods(moods: str | Iterable[str]) -> list[str]:
    """Mood words from a '; '/','-separated string or an iterable, trimmed and lower-cased."""
    if isinstance(moods, str):
        parts: Iterable[str] = re.split(r"[;,|]", moods)
    else:
        parts = moods
    return [p.strip().lower() for p in parts if p and p.strip()]


def mood_to_tags(moods: str | Iterable[str]) -> dict[str, int]:
    """Graded relevance per tag: how many of the given moods map to it. Tags with no match are absent."""
    relevance: dict[str, int] = {}
    for mood in split_moods(moods):
        for tag in _MOOD_INDEX.get(mood, ()):
            relevance[tag] = relevance.get(tag, 0) + 1
    return relevance


def relevance_vector(moods: str | Iterable[str]) -> np.ndarray:
    """(12,) float32 graded relevance in TAGS order; all zeros when no mood maps to a tag."""
    rel = mood_to_tags(moods)
    return np.array([rel.get(tag, 0) for tag in TAGS], dtype=np.float32)


def quadrant_index(quadrant: str) -> int:
    """0..3 for 'Q1'..'Q4' (case-insensitive); ValueError for anything else."""
    name = str(quadrant).strip().upper()
    if name not in QUADRANTS:
        raise ValueError(f"unknown quadrant {quadrant!r}; expected one of {', '.join(QUADRANTS)}")
    return QUADRANTS.index(name)
