"""Extended M3U (.m3u8, UTF-8) playlists: what a map selection or a recommendation list is exported as.

Relative entries are written against the playlist's own folder, so a playlist saved inside the music folder keeps
working when the folder moves or is mounted elsewhere. Writing is atomic (a temporary file in the same folder, then
a rename): an existing playlist is replaced whole or left as it was, never truncated. A path that an M3U8 line
cannot carry (not valid UTF-8, or holding a line break that would inject lines) is skipped and reported. Reading
accepts relative paths, absolute paths and file:// URIs, a UTF-8 byte-order mark and CRLF line ends (as other
players write them).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from explorer.analysis.errors import AnalysisError

PathLike = str | os.PathLike
log = logging.getLogger(__name__)


@dataclass
class PlaylistEntry:
    path: Path  # absolute
    title: str | None = None
    duration: float | None = None  # seconds; None when the playlist says -1 or nothing


def _clean(text: str) -> str:
    """A title must stay on its #EXTINF line."""
    return " ".join(str(text).split())


@dataclass
class SavedPlaylist:
    path: Path
    written: int
    skipped: list[str] = field(default_factory=list)  # paths (as text) that M3U8 cannot carry, with why


def _unwritable(text: str) -> str | None:
    """Why `text` cannot be one M3U8 line, or None."""
    if "\n" in text or "\r" in text:
        return "holds a line break"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def save_m3u8(
    paths: Sequence[PathLike],
    out: PathLike,
    relative: bool = True,
    titles: Sequence[str | None] | None = None,
    durations: Sequence[float | None] | None = None,
) -> SavedPlaylist:
    """Write `paths` to `out` atomically (parent folders are created); says what was written and skipped."""
    out_path = Path(out).expanduser().absolute()
    if titles is not None and len(titles) != len(paths):
        raise AnalysisError("titles must have one entry per path")
    if durations is not None and len(durations) != len(paths):
        raise AnalysisError("durations must have one entry per path")
    base = out_path.parent
    lines = ["#EXTM3U"]
    skipped: list[str] = []
    for i, p in enumerate(paths):
        track = Path(p).expanduser().absolute()
        text = str(track)
        if relative:
            try:
                text = os.path.relpath(track, base)
            except ValueError:  # e.g. another drive on Windows: only an absolute path can point there
                text = str(track)
        why = _unwritable(text)
        if why is not None:
            skipped.append(f"{ascii(str(track))[1:-1]} ({why})")
            continue
        title = titles[i] if titles is not None else None
        duration = durations[i] if durations is not None else None
        if title is not None or duration is not None:
            secs = -1 if duration is None or not math.isfinite(float(duration)) else int(round(float(duration)))
            name = _clean(title) if title else _clean(track.stem)
            lines.append(f"#EXTINF:{secs},{name.encode('utf-8', 'replace').decode('utf-8')}")
        lines.append(text)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    _write_atomically(out_path, data)
    if skipped:
        log.warning("playlist %s: skipped %d path(s) M3U8 cannot hold: %s", out_path, len(skipped), skipped)
    return SavedPlaylist(out_path, len(paths) - len(skipped), skipped)


def _write_atomically(out_path: Path, data: bytes) -> None:
    tmp_name = None
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        mode = out_path.stat().st_mode & 0o777 if out_path.exists() else 0o644
        with tempfile.NamedTemporaryFile(
            "wb", dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp", delete=False
        ) as fh:
            tmp_name = fh.name
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, out_path)
        tmp_name = None
    except OSError as exc:
        raise AnalysisError(
            f"cannot write playlist {out_path}: {exc.strerror or exc}; an existing playlist there is unchanged"
        ) from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def write_m3u8(
    paths: Sequence[PathLike],
    out: PathLike,
    relative: bool = True,
    titles: Sequence[str | None] | None = None,
    durations: Sequence[float | None] | None = None,
) -> Path:
    """Write `paths` to `out` (see `save_m3u8`, which also says what was skipped). Returns the playlist path."""
    return save_m3u8(paths, out, relative, titles, durations).path


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
    pending: tuple[float | None, str | None] = (None, None)
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXTINF:"):
            info = line[len("#EXTINF:") :]
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
