"""Reader for 4Q-style emotion datasets: `labels.csv` + `audio/<song_id>.<any audio ext>`.

labels.csv columns: song_id, quadrant (Q1..Q4), moods and genres (AllMusic words separated by ';'),
optionally artist, title and split (train/test). Any folder in this layout works, so users can train on
their own labelled music the same way the shipped model was trained on 4Q.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.emotions import QUADRANTS, mood_to_tags, quadrant_index, relevance_vector, split_moods

AUDIO_EXTENSIONS = (".opus", ".ogg", ".oga", ".mp3", ".flac", ".wav", ".m4a", ".aac", ".mp4", ".aif", ".aiff", ".wma")
REQUIRED_COLUMNS = ("song_id", "quadrant", "moods")


class FourQError(Exception):
    """The folder is not a usable 4Q-style dataset (missing file, column, audio or bad value)."""


@dataclass(frozen=True)
class FourQClip:
    song_id: str
    quadrant: str
    moods: tuple[str, ...]
    genres: tuple[str, ...]
    audio_path: Path
    split: str | None = None
    artist: str = ""
    title: str = ""
    relevance: np.ndarray = field(default=None, repr=False, compare=False)  # (12,) graded, TAGS order

    @property
    def quadrant_index(self) -> int:
        return quadrant_index(self.quadrant)

    @property
    def has_tags(self) -> bool:
        """False for clips whose moods map to no emotion tag: they are left out of the ranking task."""
        return bool(self.relevance.any())

    def tags(self) -> dict[str, int]:
        return mood_to_tags(self.moods)

    def genre_vector(self) -> np.ndarray:
        """Multi-hot over the project's canonical genre vocabulary, from the clip's AllMusic genres."""
        from core.features.genre import genre_vector

        return genre_vector(list(self.genres))


def _split_list(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (raw or "").split(";") if p.strip())


def _audio_index(audio_dir: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for path in sorted(audio_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
            index.setdefault(path.stem, path)
    return index


def has_split_column(folder: str | Path) -> bool:
    labels = Path(folder) / "labels.csv"
    if not labels.exists():
        raise FourQError(f"{labels} not found")
    with open(labels, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    return "split" in [h.strip().lower() for h in header]


def read_fourq(folder: str | Path, split: str | None = None, *, require_audio: bool = True) -> list[FourQClip]:
    """All clips of the dataset in file order, or only those of `split` ('train'/'test').

    Asking for a split in a folder whose labels.csv has no split column raises FourQError; use
    `core.datasets.stratified_split` to make one instead.
    """
    folder = Path(folder)
    labels = folder / "labels.csv"
    audio_dir = folder / "audio"
    if not labels.exists():
        raise FourQError(f"{labels} not found (expected labels.csv + audio/<song_id>.<ext>)")
    if require_audio and not audio_dir.is_dir():
        raise FourQError(f"{audio_dir} not found")
    audio = _audio_index(audio_dir) if audio_dir.is_dir() else {}
    with open(labels, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
        missing_cols = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing_cols:
            raise FourQError(f"{labels}: missing column(s) {', '.join(missing_cols)}")
        has_split = "split" in columns
        if split is not None and not has_split:
            raise FourQError(f"{labels} has no split column; cannot select split={split!r}")
        clips: list[FourQClip] = []
        missing_audio: list[str] = []
        for line_no, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            row_split = row.get("split") or None
            if split is not None and (row_split or "").lower() != split.lower():
                continue
            song_id = row["song_id"]
            quadrant = row["quadrant"].upper()
            if quadrant not in QUADRANTS:
                raise FourQError(f"{labels}:{line_no}: quadrant {row['quadrant']!r} is not one of {QUADRANTS}")
            path = audio.get(song_id)
            if path is None:
                missing_audio.append(song_id)
                path = audio_dir / f"{song_id}.opus"
            moods = tuple(m.strip() for m in _split_list(row.get("moods", "")))
            clips.append(
                FourQClip(
                    song_id=song_id,
                    quadrant=quadrant,
                    moods=moods,
                    genres=_split_list(row.get("genres", "")),
                    audio_path=path,
                    split=row_split,
                    artist=row.get("artist", ""),
                    title=row.get("title", ""),
                    relevance=relevance_vector(moods),
                )
            )
    if require_audio and missing_audio:
        shown = ", ".join(missing_audio[:5])
        raise FourQError(f"{len(missing_audio)} clip(s) have no audio file in {audio_dir} (e.g. {shown})")
    if not clips:
        raise FourQError(f"{labels}: no clips" + (f" in split {split!r}" if split else ""))
    return clips


def tag_statistics(clips: Iterable[FourQClip]) -> dict:
    """Tag counts, mean tags per clip and clips with no tag (per quadrant): the numbers docs/results.md reports."""
    from core.emotions import TAGS

    clips = list(clips)
    rel = np.stack([c.relevance for c in clips]) if clips else np.zeros((0, len(TAGS)))
    present = rel > 0
    empty_by_q = {q: int(sum(1 for c, p in zip(clips, present) if c.quadrant == q and not p.any())) for q in QUADRANTS}
    return {
        "clips": len(clips),
        "tags_per_clip": float(present.sum(axis=1).mean()) if clips else 0.0,
        "tags_per_tagged_clip": float(present.sum(axis=1)[present.any(axis=1)].mean()) if present.any() else 0.0,
        "clips_without_tag": int((~present.any(axis=1)).sum()),
        "clips_without_tag_by_quadrant": empty_by_q,
        "tag_counts": {t: int(present[:, i].sum()) for i, t in enumerate(TAGS)},
    }


__all__ = [
    "AUDIO_EXTENSIONS",
    "FourQClip",
    "FourQError",
    "read_fourq",
    "has_split_column",
    "tag_statistics",
    "split_moods",
]
