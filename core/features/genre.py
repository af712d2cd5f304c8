"""Map whatever a tag or dataset calls a genre onto one small canonical vocabulary.

The model's genre branch needs a fixed multi-hot vector, but real tags are free text ("Romantic Classical",
"(17)", "Hip-Hop; Soundtrack"), ID3v1 numeric codes or Melon genre codes. Everything is resolved through the
tables in `resources/genres.json`, so the vocabulary and aliases live in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from core.resources import load_json_resource

UNKNOWN = "Unknown"

_TABLE: dict[str, Any] = load_json_resource("genres.json")
GENRES: tuple[str, ...] = tuple(_TABLE["vocabulary"])
GENRE_INDEX: dict[str, int] = {g: i for i, g in enumerate(GENRES)}
ID3V1_GENRES: tuple[str, ...] = tuple(_TABLE["id3v1"])

if GENRES[-1] != UNKNOWN:  # pragma: no cover - guards an edited resource file
    raise RuntimeError("resources/genres.json: the vocabulary must end with 'Unknown'")

_SPLIT_STRONG = re.compile(r"[;,|\n\x00]+")  # always separates genres
_SPLIT_SLASH = re.compile(r"\s*/\s*")  # separates genres unless the whole string is a known name ("Pop/Rock")
_ID3_PAREN = re.compile(r"\((\d{1,3})\)")
_ID3_BARE = re.compile(r"^\s*(\d{1,3})\s*$")
_MELON = re.compile(r"^\s*(?:GN)?(\d{2})(\d{2})\s*$", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9]+")


def _key(name: str) -> str:
    """Case-, space- and punctuation-insensitive lookup key: 'Hip-Hop' == 'hip hop' == 'HipHop'."""
    return re.sub(r"[^0-9a-z]+", "", name.casefold().replace("&", " and "))


@lru_cache(maxsize=1)
def _alias_map() -> dict[str, tuple[str, ...]]:
    mapping: dict[str, list[str]] = {}
    for canonical in GENRES:
        mapping.setdefault(_key(canonical), []).append(canonical)
    for canonical, names in _TABLE["aliases"].items():
        for name in names:
            targets = mapping.setdefault(_key(name), [])
            if canonical not in targets:
                targets.append(canonical)
    return {k: tuple(v) for k, v in mapping.items()}


def _melon_lookup(text: str, *, bare_ok: bool = False) -> tuple[str, ...] | None:
    """Melon codes ('GN0105'; bare '0105' only where the caller knows they are Melon codes) use GNxx00."""
    m = _MELON.match(text)
    if not m or not (bare_ok or text.strip().upper().startswith("GN")):
        return None
    entry = _TABLE["melon"].get(f"GN{m.group(1)}00")
    return tuple(entry["genres"]) if entry else None


def _id3_code(code: str) -> tuple[str, ...]:
    idx = int(code)
    if 0 <= idx < len(ID3V1_GENRES):
        return _resolve_name(ID3V1_GENRES[idx])
    return ()


def _resolve_name(name: str) -> tuple[str, ...]:
    """One genre name: exact alias first, then its words and word pairs ('Melodic Death Metal' -> metal)."""
    aliases = _alias_map()
    key = _key(name)
    if not key:
        return ()
    if key in aliases:
        return aliases[key]
    words = _WORDS.findall(name.casefold().replace("&", " and "))
    found: list[str] = []
    for n in (2, 1):
        for i in range(len(words) - n + 1):
            for g in aliases.get("".join(words[i : i + n]), ()):
                if g not in found:
                    found.append(g)
        if found:
            break
    return tuple(found)


def _resolve_part(part: str) -> tuple[str, ...]:
    part = part.strip()
    if not part:
        return ()
    melon = _melon_lookup(part)
    if melon is not None:
        return melon
    bare = _ID3_BARE.match(part)
    if bare:
        return _id3_code(bare.group(1))
    found: list[str] = []
    for code in _ID3_PAREN.findall(part):  # ID3v2.3 style "(17)" or "(17)(24)Eurodisco"
        found.extend(_id3_code(code))
    rest = _ID3_PAREN.sub(" ", part).replace("(RX)", " ").replace("(CR)", " ").strip()
    if rest:
        whole = _resolve_name(rest) if _key(rest) in _alias_map() else ()
        if whole:
            found.extend(whole)
        else:
            for piece in _SPLIT_SLASH.split(rest):
                found.extend(_resolve_name(piece))
    return tuple(found)


def _flatten(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw).decode("utf-8", errors="replace")
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
        return [str(int(raw))]
    if isinstance(raw, str):
        return [p for p in _SPLIT_STRONG.split(raw) if p.strip()]
    if isinstance(raw, Iterable):
        out: list[str] = []
        for item in raw:
            out.extend(_flatten(item))
        return out
    return []


def canonical_genres(raw: Any) -> list[str]:
    """Canonical genres (vocabulary order, no duplicates) for a tag string, a list of them, ID3 or Melon codes.

    Anything unrecognised, empty or None gives ["Unknown"]; "Unknown" never appears beside a real genre.
    """
    hits: set[str] = set()
    for part in _flatten(raw):
        hits.update(_resolve_part(part))
    hits.discard(UNKNOWN)
    if not hits:
        return [UNKNOWN]
    return [g for g in GENRES if g in hits]


def genre_vector(raw: Any) -> np.ndarray:
    """Multi-hot float32 vector over GENRES for the model's genre branch."""
    vec = np.zeros(len(GENRES), dtype=np.float32)
    for g in canonical_genres(raw):
        vec[GENRE_INDEX[g]] = 1.0
    return vec


def melon_genres(codes: Any) -> list[str]:
    """Canonical genres for Melon genre codes (top-level or sub-genre, 'GN0105' or '0105')."""
    hits: set[str] = set()
    for part in _flatten(codes):
        hits.update(_melon_lookup(part, bare_ok=True) or ())
    return [g for g in GENRES if g in hits] or [UNKNOWN]
