"""Read the few tags the explorer shows (title, artist, album, genre, year, duration) from any audio file.

Tags are optional decoration: a file with broken or missing tags must still be indexed, so this never raises;
missing values are simply absent from the returned dict, and a file mutagen cannot parse gives {}.
"""

from __future__ import annotations

import logging
import re
from os import PathLike
from typing import Any

import mutagen

log = logging.getLogger(__name__)

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_TEXT_KEYS = {"title": ("title",), "artist": ("artist", "albumartist", "performer"), "album": ("album",)}


def _first_text(tags: Any, key: str) -> str | None:
    try:
        values = tags.get(key)
    except Exception:  # some tag backends raise on odd keys
        return None
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        values = [values]
    for v in values:
        text = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip().strip("\x00").strip()
        if text:
            return text
    return None


def _all_text(tags: Any, key: str) -> list[str]:
    try:
        values = tags.get(key) or []
    except Exception:
        return []
    if isinstance(values, (str, bytes)):
        values = [values]
    out = []
    for v in values:
        text = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip().strip("\x00").strip()
        if text and text not in out:
            out.append(text)
    return out


def _year(tags: Any) -> int | None:
    for key in ("date", "originaldate", "year"):
        text = _first_text(tags, key)
        if text:
            m = _YEAR.search(text)
            if m and 1000 <= int(m.group(1)) <= 2999:
                return int(m.group(1))
    return None


def read_tags(path: str | PathLike[str]) -> dict[str, Any]:
    """title/artist/album/genre (str), year (int), duration (float seconds); keys whose value is unknown are absent.

    Several genre values are joined with "; " so `core.features.genre.canonical_genres` can split them again.
    """
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many types for damaged or non-audio files
        log.debug("no tags for %s: %s", path, exc)
        return {}
    if audio is None:
        return {}
    out: dict[str, Any] = {}
    tags = audio.tags
    if tags is not None:
        for field, keys in _TEXT_KEYS.items():
            for key in keys:
                text = _first_text(tags, key)
                if text:
                    out[field] = text
                    break
        genres = _all_text(tags, "genre")
        if genres:
            out["genre"] = "; ".join(genres)
        year = _year(tags)
        if year is not None:
            out["year"] = year
    try:
        length = float(audio.info.length)
    except Exception:
        length = 0.0
    if length > 0 and length == length and length != float("inf"):
        out["duration"] = length
    return out
