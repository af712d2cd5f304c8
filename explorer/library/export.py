"""Get a library's data out: per track the path, title, genres, quadrant probabilities and ranked emotion tags, as
JSON or CSV, with exactly the values `LibraryCache.load_arrays()` gives the app (calibrated by teaching).

Floats are written with Python's shortest round-trip repr of the stored float32 values, so reading a file back and
casting to float32 gives the very numbers the app shows. Files are written to a temporary file beside the target,
flushed to disk and renamed over it: a crash or a full disk leaves the old file (or none), never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.emotions import QUADRANTS
from explorer.library.arrays import LibraryArrays

FORMAT_VERSION = 1


def _inferred_flags(arrays: LibraryArrays) -> np.ndarray | None:
    """(N,) bool "the genres came from the audio, not from tags", when the arrays carry it for every track."""
    flags = getattr(arrays, "genre_inferred", None)
    if flags is None or len(flags) != len(arrays):
        return None
    return np.asarray(flags, dtype=bool)


def display_title(arrays: LibraryArrays, row: int) -> str:
    """The title as the track list shows it: the tag title, else the file name without its extension."""
    return arrays.titles[row] or Path(arrays.paths[row]).stem


def track_records(arrays: LibraryArrays) -> list[dict[str, Any]]:
    """One plain dict per track (JSON-ready), in the arrays' row order."""
    inferred = _inferred_flags(arrays)
    out = []
    for i in range(len(arrays)):
        q = arrays.quadrant_probs[i]
        order = np.argsort(-arrays.tag_scores[i], kind="stable")
        record: dict[str, Any] = {
            "path": arrays.paths[i],
            "title": display_title(arrays, i),
            "artist": arrays.artists[i],
            "album": arrays.albums[i],
            "genres": [g for g, on in zip(arrays.genre_names, arrays.genres[i]) if on > 0.5],
        }
        if inferred is not None:
            record["genre_inferred"] = bool(inferred[i])
        record["quadrant"] = QUADRANTS[int(np.argmax(q))]
        record["quadrant_probs"] = {name: float(p) for name, p in zip(QUADRANTS, q)}
        record["tags"] = [{"tag": arrays.tag_names[j], "score": float(arrays.tag_scores[i, j])} for j in order]
        out.append(record)
    return out


def atomic_write_text(path: str | os.PathLike, text: str, errors: str = "strict") -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder and a rename.

    `errors="surrogateescape"` writes the original bytes of file names that are not valid UTF-8.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    if target.is_dir():
        raise IsADirectoryError(f"export target is a folder: {target}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"export folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=errors, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def to_json(arrays: LibraryArrays, library_root: str | os.PathLike) -> str:
    doc = {
        "format": "quadfusion-explorer-export",
        "format_version": FORMAT_VERSION,
        "library": os.fspath(library_root),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corrections_applied": int(getattr(arrays, "corrections_applied", 0)),
        "quadrants": list(QUADRANTS),
        "tag_names": list(arrays.tag_names),
        "tracks": track_records(arrays),
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a path that is not valid UTF-8: \udcXX escapes, read back to the same str
        text = json.dumps(doc, ensure_ascii=True, indent=1)
    return text + "\n"


def to_csv(arrays: LibraryArrays) -> str:
    """One row per track: path, title, artist, album, genres ('; '), [genre_inferred], quadrant, Q1..Q4, the tags
    by rank ('; '), then one score column per tag (model order) for spreadsheets."""
    inferred = _inferred_flags(arrays)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["path", "title", "artist", "album", "genres"] + (["genre_inferred"] if inferred is not None else [])
    header += ["quadrant", *QUADRANTS, "ranked_tags", *arrays.tag_names]
    writer.writerow(header)
    for rec in track_records(arrays):
        row = [rec["path"], rec["title"], rec["artist"], rec["album"], "; ".join(rec["genres"])]
        if inferred is not None:
            row.append("true" if rec["genre_inferred"] else "false")
        scores = {t["tag"]: t["score"] for t in rec["tags"]}
        row += [rec["quadrant"], *(repr(rec["quadrant_probs"][q]) for q in QUADRANTS)]
        row += ["; ".join(t["tag"] for t in rec["tags"]), *(repr(scores[name]) for name in arrays.tag_names)]
        writer.writerow(row)
    return buf.getvalue()


def export_library(
    arrays: LibraryArrays,
    library_root: str | os.PathLike,
    *,
    json_path: str | os.PathLike | None = None,
    csv_path: str | os.PathLike | None = None,
) -> list[Path]:
    """Write the requested files (each atomically); returns their paths."""
    written = []
    if json_path is not None:
        written.append(atomic_write_text(json_path, to_json(arrays, library_root)))
    if csv_path is not None:
        written.append(atomic_write_text(csv_path, to_csv(arrays), errors="surrogateescape"))
    return written
