"""Extended M3U (.m3u8, UTF-8) playlists: what a map selection or a recommendation list is exported as.

Relative entries are written against the playlist's own folder, so a playlist saved inside the music folder keeps
working when the folder moves or is mounted elsewhere. Reading accepts relative paths, absolute paths and file://
URIs, a UTF-8 byte-order mark and CRLF line ends (as other players write them).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from explorer.analysis.errors import AnalysisError

PathLike = Union[str, os.PathLike]


@dataclass
class PlaylistEntry:
    path: Path  # absolute
    title: Optional[str] = None
    duration: Optional[float] = None  # seconds; None when the playlist says -1 or nothing


def _clean(text: str) -> str:
    """A title must stay on its #EXTINF line."""
    return " ".join(str(text).split())


def write_m3u8(
    paths: Sequence[PathLike],
    out: PathLike,
    relative: bool = True,
    titles: Optional[Sequence[Optional[str]]] = None,
    durations: Optional[Sequence[Optional[float]]] = None,
) -> Path:
    """Write `paths` to `out` (parent folders are created). Returns the playlist path."""
    out_path = Path(out).expanduser().absolute()
    if titles is not None and len(titles) != len(paths):
        raise AnalysisError("titles must have one entry per path")
    if durations is not None and len(durations) != len(paths):
        raise AnalysisError("durations must have one entry per path")
    base = out_path.parent
    lines = ["#EXTM3U"]
    for i, p in enumerate(paths):
        track = Path(p).expanduser().absolute()
        text = str(track)
        if relative:
            try:
                text = os.path.relpath(track, base)
            except ValueError:  # e.g. another drive on Windows: only an absolute path can point there
                text = str(track)
        title = titles[i] if titles is not None else None
        duration = durations[i] if durations is not None else None
        if title is not None or duration is not None:
            secs = -1 if duration is None or not math.isfinite(float(duration)) else int(round(float(duration)))
            lines.append(f"#EXTINF:{secs},{_clean(title) if title else track.stem}")
        lines.append(text)
    try:
        base.mkdir(parents=True, exist_ok=True)
        out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise AnalysisError(f"cannot write playlist {out_path}: {exc.strerror or exc}") from exc
    return out_path


def _entry_path(line: str, base: Path) -> Path:
    if line.lower().startswith("file:"):
        parsed = urlparse(line)
        return Path(url2pathname(unquote(parsed.path)))
    p = Path(line).expanduser()
    return p if p.is_absolute() else Path(os.path.normpath(base / p))


def read_m3u8(path: PathLike) -> list[PlaylistEntry]:
    """Entries in order, with paths made absolute against the playlist's folder."""
    src = Path(path).expanduser().absolute()
    try:
        text = src.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"cannot read playlist {src}: {exc}") from exc
    entries: list[PlaylistEntry] = []
    pending: tuple[Optional[float], Optional[str]] = (None, None)
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXTINF:"):
            info = line[len("#EXTINF:"):]
            secs_text, _, title = info.partition(",")
            try:
                secs = float(secs_text.split()[0]) if secs_text.strip() else -1.0
            except ValueError:
                secs = -1.0
            pending = (secs if secs >= 0 else None, title.strip() or None)
            continue
        if line.startswith("#"):
            continue
        entries.append(PlaylistEntry(_entry_path(line, src.parent), pending[1], pending[0]))
        pending = (None, None)
    return entries
