"""DEAM (MediaEval Database for Emotional Analysis in Music) reader: static valence/arousal -> quadrants.

Layout as distributed (any folder depth is accepted)::

    <root>/.../MEMD_audio/<song_id>.mp3
    <root>/.../static_annotations_averaged_songs_1_2000.csv
    <root>/.../static_annotations_averaged_songs_2000_2058.csv

The CSV headers carry stray spaces (" valence_mean", "valence_ max_mean"), so column names are compared with all
whitespace removed. Ratings are song averages on a 1-9 scale; the quadrant split is at 5:

    Q1 = V+ A+ (happy/excited)   Q2 = V- A+ (tense/angry)   Q3 = V- A- (sad)   Q4 = V+ A- (calm)

A rating of exactly 5 lies on an axis and belongs to no quadrant: by default such songs get `quadrant=None`
(about 6 % of DEAM); `boundary="high"` or `"low"` puts them on the positive or negative side instead.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Boundary = Literal["none", "high", "low"]
MIDPOINT = 5.0
CSV_PATTERN = "static_annotations_averaged_songs_*.csv"
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".m4a")


class DeamError(Exception):
    """The DEAM folder or an annotation file is missing or malformed."""


@dataclass(frozen=True)
class DeamItem:
    song_id: int
    valence: float  # 1..9 mean rating
    arousal: float  # 1..9 mean rating
    quadrant: str | None  # "Q1".."Q4", None on an axis (see module docstring)
    audio_path: Path | None  # None when the audio file is absent


def _side(value: float, boundary: Boundary) -> bool | None:
    """True = positive half, False = negative, None = exactly on the midpoint with boundary="none"."""
    if value > MIDPOINT:
        return True
    if value < MIDPOINT:
        return False
    return {"none": None, "high": True, "low": False}[boundary]


def va_to_quadrant(valence: float, arousal: float, boundary: Boundary = "none") -> str | None:
    """Russell quadrant of a (valence, arousal) rating on DEAM's 1-9 scale."""
    if boundary not in ("none", "high", "low"):
        raise ValueError(f"boundary must be 'none', 'high' or 'low', got {boundary!r}")
    v, a = _side(valence, boundary), _side(arousal, boundary)
    if v is None or a is None:
        return None
    if a:
        return "Q1" if v else "Q2"
    return "Q4" if v else "Q3"


def _key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def read_static_annotations(path: str | Path) -> dict[int, tuple[float, float]]:
    """song_id -> (valence_mean, arousal_mean) from one static annotation CSV."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DeamError(f"cannot read DEAM annotations {path}: {exc}") from exc
    if not rows:
        raise DeamError(f"{path} is empty")
    header = [_key(c) for c in rows[0]]
    try:
        i_id, i_v, i_a = header.index("song_id"), header.index("valence_mean"), header.index("arousal_mean")
    except ValueError as exc:
        raise DeamError(f"{path} lacks song_id/valence_mean/arousal_mean columns (has {rows[0]})") from exc
    out: dict[int, tuple[float, float]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            song_id, valence, arousal = int(row[i_id]), float(row[i_v]), float(row[i_a])
        except (IndexError, ValueError) as exc:
            raise DeamError(f"{path}:{line_no}: malformed row {row}") from exc
        if not (1.0 <= valence <= 9.0 and 1.0 <= arousal <= 9.0):
            raise DeamError(f"{path}:{line_no}: ratings outside 1..9: {row}")
        out[song_id] = (valence, arousal)
    return out


def _find_audio_dir(root: Path) -> Path | None:
    if root.name == "MEMD_audio":
        return root
    found = sorted(root.rglob("MEMD_audio"))
    return next((p for p in found if p.is_dir()), None)


def _audio_index(audio_dir: Path | None) -> dict[int, Path]:
    index: dict[int, Path] = {}
    if audio_dir is None or not audio_dir.is_dir():
        return index
    rank = {ext: i for i, ext in enumerate(AUDIO_EXTENSIONS)}
    for p in audio_dir.iterdir():
        ext = p.suffix.lower()
        if ext in rank and p.stem.isdigit() and p.is_file():
            sid = int(p.stem)
            if sid not in index or rank[ext] < rank[index[sid].suffix.lower()]:
                index[sid] = p
    return index


def read_deam(
    root: str | Path,
    *,
    audio_dir: str | Path | None = None,
    annotation_files: Iterable[str | Path] | None = None,
    boundary: Boundary = "none",
) -> list[DeamItem]:
    """All annotated DEAM songs sorted by id; `audio_path` is None where `MEMD_audio/<id>.*` is missing.

    Annotation CSVs are found under `root` by name unless given; `audio_dir` defaults to the first `MEMD_audio`
    folder below `root`. A song annotated in two files keeps the later file's values (files read in name order).
    """
    root = Path(root)
    if not root.is_dir():
        raise DeamError(f"DEAM folder not found: {root}")
    files = [Path(f) for f in annotation_files] if annotation_files is not None else sorted(root.rglob(CSV_PATTERN))
    if not files:
        raise DeamError(f"no {CSV_PATTERN} files under {root}")
    ratings: dict[int, tuple[float, float]] = {}
    for f in files:
        ratings.update(read_static_annotations(f))
    audio = _audio_index(Path(audio_dir) if audio_dir is not None else _find_audio_dir(root))
    return [
        DeamItem(sid, v, a, va_to_quadrant(v, a, boundary), audio.get(sid)) for sid, (v, a) in sorted(ratings.items())
    ]
