"""Track tags with a file-name fallback: untagged rips still get a title and, often, an artist.

Embedded tags come from `core.metadata.read_tags` (mutagen). Where title or artist is missing, the file name is
parsed ("Artist - Title", "01 - Title", "01. Artist - Title"); the genre string is mapped through the canonical
genre table so filters and the model see one vocabulary.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from core.features.genre import canonical_genres
from core.metadata import read_tags

_TRACK_NO = re.compile(r"^\s*(?:disc\s*\d+\s*[-_.]\s*)?\d{1,3}(?:[-.]\d{1,3})?\s*(?:[-_.)]\s*|\s+)")
_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")


def parse_filename(path: str | os.PathLike) -> dict[str, str]:
    """Title (and artist when the name has one) from a file name like "Artist - Title.mp3"."""
    stem = Path(os.fspath(path)).stem
    stem = stem.encode("utf-8", "replace").decode("utf-8")  # undecodable bytes become U+FFFD for display
    stem = _TRACK_NO.sub("", stem, count=1) or stem
    stem = stem.replace("_", " ").strip()
    parts = [p.strip() for p in _SEPARATOR.split(stem, maxsplit=1)]
    if len(parts) == 2 and parts[0] and parts[1]:
        return {"artist": parts[0], "title": parts[1]}
    return {"title": stem or Path(os.fspath(path)).name}


def track_tags(path: str | os.PathLike, name: str | os.PathLike | None = None) -> dict[str, Any]:
    """title, artist, album, genre (raw), genres (canonical list), year, duration; never raises for bad files.

    `name` is the path whose file name feeds the fallback, when `path` is only an alias (a temporary link).
    """
    try:
        tags: dict[str, Any] = dict(read_tags(path))
    except Exception:  # unreadable tags must not stop indexing; decoding reports the real problem
        tags = {}
    for key in ("title", "artist", "album", "genre"):
        value = tags.get(key)
        if isinstance(value, (list, tuple)):
            value = "; ".join(str(v) for v in value if v)
        if value is not None:
            value = str(value).strip()
        if value:
            tags[key] = value
        else:
            tags.pop(key, None)
    fallback = parse_filename(name if name is not None else path)
    for key, value in fallback.items():
        tags.setdefault(key, value)
    tags["genres"] = canonical_genres(tags.get("genre", ""))
    return tags
