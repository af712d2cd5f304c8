"""Genre vocabulary and free-text resolution, checked against the real 4Q labels, demo tags and Melon table."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import mutagen
import numpy as np
import pytest

from core.features.genre import GENRES, ID3V1_GENRES, canonical_genres, genre_vector, melon_genres
from core.resources import load_json_resource


def _fourq_genres(fourq_dir: Path) -> Counter:
    counts: Counter = Counter()
    with open(fourq_dir / "labels.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            counts.update(g.strip() for g in row["genres"].split(";") if g.strip())
    return counts


def test_vocabulary_is_the_4q_allmusic_set_plus_unknown(fourq_dir):
    counts = _fourq_genres(fourq_dir)
    assert len(counts) == 21
    assert set(GENRES[:-1]) == set(counts)
    assert GENRES[-1] == "Unknown" and len(GENRES) == 22


def test_every_4q_label_row_resolves_to_itself(fourq_dir):
    with open(fourq_dir / "labels.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        expected = {g.strip() for g in row["genres"].split(";") if g.strip()}
        assert set(canonical_genres(row["genres"])) == expected, row["genres"]


def test_demo_file_tags_map_to_classical_or_electronic(demo_files):
    seen = Counter()
    for path in demo_files:
        tag = mutagen.File(path, easy=True)["genre"][0]
        got = canonical_genres(tag)
        expected = "Classical" if path.name.startswith("wesnoth") else "Electronic"
        assert got == [expected], (path.name, tag)
        seen[got[0]] += 1
    assert seen == {"Classical": 12, "Electronic": 8}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Romantic Classical", ["Classical"]),
        ("ROMANTIC-classical!", ["Classical"]),
        ("Electronica", ["Electronic"]),
        ("EDM", ["Electronic"]),
        ("techno", ["Electronic"]),
        ("House", ["Electronic"]),
        ("Hip-Hop", ["Rap"]),
        ("hiphop", ["Rap"]),
        ("Rap", ["Rap"]),
        ("Metal", ["Pop/Rock"]),
        ("Punk", ["Pop/Rock"]),
        ("Rock/Pop", ["Pop/Rock"]),
        ("OST", ["Stage & Screen"]),
        ("Score", ["Stage & Screen"]),
        ("Game", ["Stage & Screen"]),
        ("rhythm & blues", ["R&B"]),
        ("Melodic Death Metal", ["Pop/Rock"]),
        ("Jazz; Blues / Country | Reggae, Latin", ["Blues", "Country", "Jazz", "Latin", "Reggae"]),
        ("Christian Rock", ["Pop/Rock", "Religious"]),
        ("Comedy/Spoken", ["Comedy/Spoken"]),
        ("GN1500", ["Stage & Screen"]),
        ("gn0105", ["Pop/Rock"]),
        (["Jazz", "OST", "jazz"], ["Jazz", "Stage & Screen"]),
        (b"Reggae", ["Reggae"]),
    ],
)
def test_free_text_aliases(raw, expected):
    assert canonical_genres(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(17)", ["Pop/Rock"]),
        ("17", ["Pop/Rock"]),
        (32, ["Classical"]),
        ("(24)(52)", ["Electronic", "Stage & Screen"]),
        ("(7)Hip-Hop", ["Rap"]),
        ("(0)", ["Blues"]),
        ("(191)", ["Electronic"]),
        ("(192)", ["Unknown"]),
        ("(12)", ["Unknown"]),
    ],
)
def test_id3v1_codes(raw, expected):
    assert canonical_genres(raw) == expected


def test_id3v1_list_is_complete_and_mapped():
    table = load_json_resource("genres.json")
    assert len(ID3V1_GENRES) == 192
    assert ID3V1_GENRES[0] == "Blues" and ID3V1_GENRES[17] == "Rock" and ID3V1_GENRES[191] == "Psybient"
    unmapped = {name for name in ID3V1_GENRES if canonical_genres(name) == ["Unknown"]}
    assert unmapped == set(table["id3v1_unmapped"])


@pytest.mark.parametrize("junk", [None, "", "   ", ";;", "asdfgh", "1999", "??", [], [None, ""], 3.5, object()])
def test_junk_is_unknown(junk):
    assert canonical_genres(junk) == ["Unknown"]
    vec = genre_vector(junk)
    assert vec.dtype == np.float32 and vec.shape == (len(GENRES),)
    assert vec[-1] == 1.0 and vec.sum() == 1.0


def test_genre_vector_is_multi_hot():
    vec = genre_vector("Jazz; Blues; Unknown")
    assert vec.sum() == 2.0 and vec[-1] == 0.0
    assert {GENRES[i] for i in np.flatnonzero(vec)} == {"Jazz", "Blues"}


def test_melon_codes_resolve_through_their_parent():
    assert melon_genres("GN0300") == ["Rap"] and melon_genres("0805") == ["Blues", "Folk"]
    assert melon_genres("GN0301") == melon_genres("GN0300")  # a sub-genre falls back to its top-level genre
    assert melon_genres("GN9900") == ["Unknown"]


def test_melon_top_level_codes_all_mapped(melon_dir):
    """Extra layer: the shipped table against the real Melon genre table (skipped without ../shared/data/melon)."""
    source = json.loads((melon_dir / "genre_gn_all.json").read_text(encoding="utf-8"))
    table = load_json_resource("genres.json")["melon"]
    top = {code for code in source if code.endswith("00")}
    assert {f"GN{c}" for c in top} == set(table)
    for code in top:
        assert table[f"GN{code}"]["name"] == source[code]
        assert melon_genres(code) != ["Unknown"]
    for code in source:  # every sub-genre resolves through its parent
        assert melon_genres(f"GN{code}") == melon_genres(code[:2] + "00")
    assert melon_genres("GN0300") == ["Rap"] and melon_genres("0805") == ["Blues", "Folk"]
    assert melon_genres("GN9900") == ["Unknown"]
