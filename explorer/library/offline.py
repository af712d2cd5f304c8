"""Missing is not deleted: decide whether a track that the scan did not see is gone or only offline.

A file that is not found is *gone* only when the folder it lived in can be read, holds something and no longer
holds the file. Everything else (the folder absent, empty as an unmounted mount point is, unreadable; the file
still there but unreadable or replaced by something that is not a file) makes the track *offline*: it is kept with
its analysis and like, hidden from the map, listed, and back as soon as the file is. Only `prune_offline` (the
`qfx prune` command and the app's button) removes offline tracks; their likes are kept by content fingerprint
(`kept_likes`) and come back when the same file is indexed again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from explorer.library.cache import KnownTrack, LibraryCache, PathLike

FOLDER_ABSENT = "folder absent"
FOLDER_EMPTY = "folder empty (an unmounted drive?)"
FOLDER_UNREADABLE = "folder unreadable"
FILE_UNREADABLE = "file present but unreadable"


@dataclass
class MissingVerdict:
    gone: list[KnownTrack] = field(default_factory=list)  # really deleted from a readable folder
    offline: list[tuple[KnownTrack, str]] = field(default_factory=list)  # (track, why)


def _folder_state(folder: bytes) -> str | None:
    """None when the folder can be listed and holds entries, else why its tracks are offline."""
    try:
        with os.scandir(folder) as it:
            for _ in it:
                return None
        return FOLDER_EMPTY
    except FileNotFoundError:
        return FOLDER_ABSENT
    except NotADirectoryError:
        return FOLDER_ABSENT
    except OSError:
        return FOLDER_UNREADABLE


def judge_missing(tracks: Iterable[KnownTrack], unreadable: set[bytes] = frozenset()) -> MissingVerdict:
    """Split tracks the scan did not yield into gone and offline. `unreadable`: paths that exist but could not be
    read while planning."""
    verdict = MissingVerdict()
    folders: dict[bytes, str | None] = {}
    for k in tracks:
        if k.path in unreadable or os.path.lexists(k.path):
            verdict.offline.append((k, FILE_UNREADABLE))
            continue
        folder = os.path.dirname(k.path)
        if folder not in folders:
            folders[folder] = _folder_state(folder)
        why = folders[folder]
        if why is None:
            verdict.gone.append(k)
        else:
            verdict.offline.append((k, why))
    return verdict


def mark_offline(cache: LibraryCache, tracks: Iterable[tuple[KnownTrack, str]]) -> int:
    """Flag tracks as offline (keeping when they first went); returns how many were online before."""
    now = time.time()
    newly = 0
    for k, why in tracks:
        newly += not k.offline
        cache.con.execute(
            "UPDATE tracks SET offline_since = COALESCE(offline_since, ?), offline_reason = ? WHERE id = ?",
            (now, why, k.id),
        )
    return newly


def mark_online(cache: LibraryCache, track_ids: Iterable[int]) -> int:
    ids = [(int(t),) for t in track_ids]
    cache.con.executemany("UPDATE tracks SET offline_since = NULL, offline_reason = NULL WHERE id = ?", ids)
    return len(ids)


def offline_folders(paths: Iterable[tuple[str, str]], limit: int = 10) -> list[str]:
    """'FOLDER: N tracks (why)' lines, largest first, for run summaries and `qfx prune`."""
    counts = Counter((os.path.dirname(p), why) for p, why in paths)
    return [f"{folder}: {n} track(s), {why}" for (folder, why), n in counts.most_common(limit)]


def prune_offline(cache: LibraryCache, under: PathLike | None = None) -> int:
    """Remove offline tracks (all, or those under `under`) with their analysis; likes are kept by fingerprint.

    The explicit way to forget a drive or folder that will not come back; returns how many tracks were removed.
    Call it outside an indexing run: `qfx prune` holds the library lock (explorer.library.lock) around it.
    """
    rows = cache.con.execute("SELECT id, path FROM tracks WHERE offline_since IS NOT NULL").fetchall()
    if under is not None:
        prefix = os.fsencode(os.path.abspath(os.fspath(under)))
        prefix = prefix if prefix.endswith(b"/") else prefix + os.sep.encode()
        rows = [(t, p) for t, p in rows if bytes(p).startswith(prefix)]
    with cache.transaction():
        cache.remove_tracks(t for t, _ in rows)
    return len(rows)
