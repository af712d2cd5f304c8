"""ME-14k builder: align Melon Playlist songs (metadata + mel spectrograms) with JoyfulJuneS16k emotion tags.

Inputs (the user downloads them; nothing here fetches data):

* Melon `song_meta.json`: a JSON list of {"id", "song_name", "artist_name_basket": [...],
  "song_gn_gnr_basket": ["GN0100", ...], "song_gn_dtl_gnr_basket": [...], "album_name", ...}.
* Melon mel spectrograms: `<mel_root>/<id // 1000>/<id>.npy`, 48 x 1876 float16 (the `arena_mel` folder).
* JoyfulJuneS16k song/tag CSV (assumed format, column names configurable through `Me14kColumns`):
  UTF-8 with a header; one row per song (or several rows per song, which are merged); a title column, an artist
  column and a tag column holding emotion tags MOST RELEVANT FIRST, separated by `,` `;` `|` or `#`. A tag may
  carry its own weight as `tag:3` or `tag(3)`; otherwise the i-th of n listed tags weighs n - i. An optional
  weight column gives all tags of its row that weight instead.

Songs are matched on normalised (title, primary artist): NFKC, lower-case, bracketed text and "feat./ft."
credits removed, then only letters and digits kept (Hangul included). Source tags are mapped to the 12 model
tags by English tag name, then `resources/me14k_tags.json`, then the AllMusic mood table; the graded relevance
of a model tag is the summed weight of the source tags mapped to it.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.emotions import TAGS, mood_to_tags
from core.resources import load_json_resource

MEL_SHAPE = (48, 1876)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|<[^>]*>|【[^】]*】|「[^」]*」|（[^）]*）")
_FEAT = re.compile(r"(?:^|\s|\b)(?:feat\.?|ft\.|featuring)(?:\s|$).*$", re.IGNORECASE | re.DOTALL)
_ARTIST_SPLIT = re.compile(r"\s*(?:,|&|/|;|\bx\b|×)\s*", re.IGNORECASE)
_TAG_SPLIT = re.compile(r"[,;|#]+")
_TAG_WEIGHT = re.compile(r"^(.*?)\s*(?::\s*|\(\s*)([0-9]+(?:\.[0-9]+)?)\s*\)?\s*$")


class Me14kError(Exception):
    """An input file is missing or does not have the expected format."""


@dataclass(frozen=True)
class Me14kColumns:
    title: str = "title"
    artist: str = "artist"
    tags: str = "tags"
    weight: str | None = None


@dataclass
class Me14kItem:
    melon_id: int
    title: str
    artist: str
    tags: tuple[tuple[str, float], ...]  # (model tag, relevance), most relevant first
    genres: tuple[str, ...]
    mel_path: Path | None

    @property
    def relevance(self) -> np.ndarray:
        """(12,) float32 graded relevance in core.emotions.TAGS order."""
        rel = dict(self.tags)
        return np.array([rel.get(t, 0.0) for t in TAGS], dtype=np.float32)


@dataclass
class Me14kDataset:
    items: list[Me14kItem]
    stats: dict[str, int] = field(default_factory=dict)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (title, artist) rows with no Melon song


# -- name normalisation ---------------------------------------------------------------------------------------
def _alnum(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def normalize_title(title: str) -> str:
    """'봄날 (Spring Day) [Remastered] feat. X' -> '봄날'; falls back to all text when only brackets remain."""
    text = unicodedata.normalize("NFKC", str(title))
    core = _alnum(_FEAT.sub("", _BRACKETS.sub(" ", text)))
    return core or _alnum(text)


def artist_keys(artist: str) -> list[str]:
    """Candidate keys, best first: the whole credit, the primary (first-listed, pre-'feat.') artist, then
    bracketed aliases ('헤이즈 (Heize)' also answers to 'heize'; Melon writes many names that way)."""
    raw = unicodedata.normalize("NFKC", str(artist))
    text = _FEAT.sub("", _BRACKETS.sub(" ", raw))
    keys = [_alnum(text)]
    parts = [p for p in _ARTIST_SPLIT.split(text) if _alnum(p)]
    if parts:
        keys.append(_alnum(parts[0]))
    for alias in _BRACKETS.findall(raw):
        inner = alias[1:-1]
        if not _FEAT.match(inner.strip()):
            keys.append(_alnum(inner))
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


# -- tags ---------------------------------------------------------------------------------------------------------
def _default_tag_map() -> dict[str, tuple[str, ...]]:
    mapping: dict[str, tuple[str, ...]] = {_alnum(t): (t,) for t in TAGS}
    for tag, words in load_json_resource("me14k_tags.json")["aliases"].items():
        if tag not in TAGS:
            raise Me14kError(f"resources/me14k_tags.json names unknown tag {tag!r}")
        for word in words:
            mapping.setdefault(_alnum(word), (tag,))
    return mapping


def _resolve_tag(raw: str, tag_map: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    hit = tag_map.get(_alnum(raw))
    if hit is not None:
        return hit
    return tuple(mood_to_tags([raw]))  # AllMusic mood words (English sources)


def parse_tag_cell(cell: str) -> list[tuple[str, float | None]]:
    """'슬픔:3; 그리움' -> [('슬픔', 3.0), ('그리움', None)] in listed order."""
    out: list[tuple[str, float | None]] = []
    for part in _TAG_SPLIT.split(cell or ""):
        part = part.strip()
        if not part:
            continue
        m = _TAG_WEIGHT.match(part)
        out.append((m.group(1).strip(), float(m.group(2))) if m and m.group(1).strip() else (part, None))
    return out


def read_tag_csv(
    path: str | Path, columns: Me14kColumns = Me14kColumns(), tag_map: Mapping[str, Iterable[str]] | None = None
) -> tuple[dict[tuple[str, str], dict[str, float]], dict[tuple[str, str], tuple[str, str]], int]:
    """Per (title, artist) display pair: model-tag relevance; also the original names and the row count."""
    mapping = (
        {_alnum(k): tuple(v) if not isinstance(v, str) else (v,) for k, v in tag_map.items()}
        if tag_map
        else _default_tag_map()
    )
    bad = sorted({t for v in mapping.values() for t in v if t not in TAGS})
    if bad:
        raise Me14kError(f"tag_map targets unknown tags {bad}; model tags are {list(TAGS)}")
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            needed = [c for c in (columns.title, columns.artist, columns.tags, columns.weight) if c]
            missing = [c for c in needed if c not in header]
            if missing:
                raise Me14kError(f"{path} lacks columns {missing}; it has {header} (set Me14kColumns)")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Me14kError(f"cannot read tag CSV {path}: {exc}") from exc
    relevance: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        title, artist = (row.get(columns.title) or "").strip(), (row.get(columns.artist) or "").strip()
        if not title or not artist:
            continue
        row_weight = None
        if columns.weight:
            try:
                row_weight = float(row[columns.weight])
            except (TypeError, ValueError) as exc:
                raise Me14kError(f"{path}:{line}: weight {row.get(columns.weight)!r} is not a number") from exc
        key = (title, artist)
        names.setdefault(key, (title, artist))
        parsed = parse_tag_cell(row.get(columns.tags) or "")
        for i, (raw, own_weight) in enumerate(parsed):
            weight = (
                own_weight
                if own_weight is not None
                else row_weight
                if row_weight is not None
                else float(len(parsed) - i)
            )
            for tag in _resolve_tag(raw, mapping):
                relevance[key][tag] += weight
        relevance[key]
    return {k: dict(v) for k, v in relevance.items()}, names, len(rows)


# -- Melon side ---------------------------------------------------------------------------------------------
def melon_mel_path(mel_root: str | Path, melon_id: int) -> Path:
    return Path(mel_root) / str(int(melon_id) // 1000) / f"{int(melon_id)}.npy"


def load_melon_mel(path: str | Path) -> np.ndarray:
    """A Melon mel spectrogram as float32 (48, T); never unpickles."""
    try:
        mel = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise Me14kError(f"cannot read mel file {path}: {exc}") from exc
    if mel.ndim != 2 or mel.shape[0] != MEL_SHAPE[0]:
        raise Me14kError(f"{path}: expected a (48, T) mel spectrogram, got {mel.shape}")
    return mel.astype(np.float32)


def _load_song_meta(song_meta: str | Path | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(song_meta, list):
        return song_meta
    try:
        with open(song_meta, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Me14kError(f"cannot read Melon song_meta {song_meta}: {exc}") from exc
    if not isinstance(data, list):
        raise Me14kError(f"{song_meta}: expected a JSON list of songs")
    return data


def _default_genre_mapper(codes: list[str]) -> list[str]:
    from core.features.genre import canonical_genres

    return canonical_genres(codes)


def build_me14k(
    song_meta: str | Path | list[dict[str, Any]],
    tag_csv: str | Path,
    mel_root: str | Path | None = None,
    *,
    columns: Me14kColumns = Me14kColumns(),
    tag_map: Mapping[str, Iterable[str]] | None = None,
    genre_mapper: Callable[[list[str]], list[str]] | None = None,
    require_mel: bool = True,
    require_tags: bool = True,
) -> Me14kDataset:
    """Match every tagged song to a Melon id; ambiguous matches prefer a song with a mel file, then the lowest id."""
    songs = _load_song_meta(song_meta)
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_id: dict[int, dict[str, Any]] = {}
    for song in songs:
        try:
            sid = int(song["id"])
            title, basket = str(song["song_name"]), list(song.get("artist_name_basket") or [])
        except (KeyError, TypeError, ValueError) as exc:
            raise Me14kError(f"song_meta entry lacks id/song_name: {str(song)[:120]}") from exc
        by_id[sid] = song
        artist_forms = [" & ".join(basket)] + basket[:1]
        for t_key in {normalize_title(title), _alnum(title)} - {""}:
            for a_key in {k for a in artist_forms for k in artist_keys(a)}:
                if sid not in index[(t_key, a_key)]:
                    index[(t_key, a_key)].append(sid)
    relevance, names, n_rows = read_tag_csv(tag_csv, columns, tag_map)
    mapper = genre_mapper or _default_genre_mapper
    stats = {
        "csv_rows": n_rows,
        "csv_songs": len(relevance),
        "matched": 0,
        "ambiguous": 0,
        "unmatched": 0,
        "untagged": 0,
        "no_mel": 0,
        "duplicates": 0,
    }
    merged: dict[int, dict[str, float]] = {}
    unmatched: list[tuple[str, str]] = []
    for key, rel in relevance.items():
        title, artist = names[key]
        candidates: list[int] = []
        for t_key in dict.fromkeys([normalize_title(title), _alnum(title)]):
            for a_key in artist_keys(artist):
                candidates = index.get((t_key, a_key), [])
                if candidates:
                    break
            if candidates:
                break
        if not candidates:
            stats["unmatched"] += 1
            unmatched.append((title, artist))
            continue
        stats["matched"] += 1
        stats["ambiguous"] += len(candidates) > 1
        with_mel = [c for c in candidates if mel_root is not None and melon_mel_path(mel_root, c).is_file()]
        sid = min(with_mel or candidates)
        if sid in merged:
            stats["duplicates"] += 1  # several CSV spellings of one song: their tags add up
        target = merged.setdefault(sid, {})
        for tag, weight in rel.items():
            target[tag] = target.get(tag, 0.0) + weight
    items: list[Me14kItem] = []
    for sid, rel in sorted(merged.items()):
        ranked = tuple(
            sorted(((t, float(w)) for t, w in rel.items() if w > 0), key=lambda tw: (-tw[1], TAGS.index(tw[0])))
        )
        if not ranked and require_tags:
            stats["untagged"] += 1
            continue
        mel_path = melon_mel_path(mel_root, sid) if mel_root is not None else None
        if mel_path is not None and not mel_path.is_file():
            mel_path = None
        if mel_path is None and require_mel:
            stats["no_mel"] += 1
            continue
        song = by_id[sid]
        codes = list(song.get("song_gn_gnr_basket") or []) or list(song.get("song_gn_dtl_gnr_basket") or [])
        items.append(
            Me14kItem(
                sid,
                str(song["song_name"]),
                ", ".join(song.get("artist_name_basket") or []),
                ranked,
                tuple(mapper(codes)),
                mel_path,
            )
        )
    stats["items"] = len(items)
    return Me14kDataset(items, stats, unmatched)


# -- built index on disk -----------------------------------------------------------------------------------------
def write_me14k_index(dataset: Me14kDataset, path: str | Path) -> None:
    """Save the aligned dataset as JSON so training does not re-read the large song_meta.json."""
    doc = {
        "tags": list(TAGS),
        "stats": dataset.stats,
        "items": [
            {
                "melon_id": it.melon_id,
                "title": it.title,
                "artist": it.artist,
                "tags": [list(t) for t in it.tags],
                "genres": list(it.genres),
                "mel_path": str(it.mel_path) if it.mel_path else None,
            }
            for it in dataset.items
        ],
    }
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def read_me14k_index(path: str | Path) -> Me14kDataset:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Me14kError(f"cannot read ME-14k index {path}: {exc}") from exc
    if doc.get("tags") != list(TAGS):
        raise Me14kError(f"{path} was built for tags {doc.get('tags')}, this version uses {list(TAGS)}")
    items = [
        Me14kItem(
            int(d["melon_id"]),
            d["title"],
            d["artist"],
            tuple((t, float(w)) for t, w in d["tags"]),
            tuple(d["genres"]),
            Path(d["mel_path"]) if d["mel_path"] else None,
        )
        for d in doc["items"]
    ]
    return Me14kDataset(items, dict(doc.get("stats", {})))
