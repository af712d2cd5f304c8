"""ME-14k builder on small fixtures written in the Melon / JoyfulJuneS16k formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.data.me14k import (
    Me14kColumns,
    Me14kError,
    build_me14k,
    load_melon_mel,
    melon_mel_path,
    read_me14k_index,
    write_me14k_index,
)
from core.emotions import TAGS
from core.features.genre import canonical_genres

SONGS = [
    {
        "id": 101,
        "song_name": "봄날",
        "artist_name_basket": ["방탄소년단"],
        "song_gn_gnr_basket": ["GN0200"],
        "song_gn_dtl_gnr_basket": ["GN0201"],
        "album_name": "YOU NEVER WALK ALONE",
    },
    {
        "id": 2205,
        "song_name": "Love wins all",
        "artist_name_basket": ["아이유"],
        "song_gn_gnr_basket": ["GN0100"],
        "song_gn_dtl_gnr_basket": [],
        "album_name": "The Winning",
    },
    {
        "id": 3310,
        "song_name": "비도 오고 그래서 (Feat. 신용재)",
        "artist_name_basket": ["헤이즈 (Heize)", "신용재"],
        "song_gn_gnr_basket": [],
        "song_gn_dtl_gnr_basket": ["GN0505"],
        "album_name": "/// (너 먹구름 비)",
    },
    {
        "id": 1500,
        "song_name": "Hello",
        "artist_name_basket": ["Adele"],
        "song_gn_gnr_basket": ["GN0900"],
        "song_gn_dtl_gnr_basket": [],
        "album_name": "25",
    },
    {
        "id": 2700,
        "song_name": "Hello",
        "artist_name_basket": ["Adele"],
        "song_gn_gnr_basket": ["GN0900"],
        "song_gn_dtl_gnr_basket": [],
        "album_name": "25 (Deluxe)",
    },
    {
        "id": 4040,
        "song_name": "No Mel Song",
        "artist_name_basket": ["Nobody"],
        "song_gn_gnr_basket": ["GN0100"],
        "song_gn_dtl_gnr_basket": [],
        "album_name": "x",
    },
    {
        "id": 5050,
        "song_name": "Untagged",
        "artist_name_basket": ["Somebody"],
        "song_gn_gnr_basket": ["GN0100"],
        "song_gn_dtl_gnr_basket": [],
        "album_name": "y",
    },
]
CSV = """title,artist,tags
봄날 (Spring Day),방탄소년단,그리움;추억;슬픔
LOVE WINS ALL,아이유 (IU),사랑:5
Love Wins All!,아이유,설렘:2
비도 오고 그래서,Heize ft. 신용재,"Sad, Wistful"
Hello,ADELE,Sadness
No Mel Song,Nobody,행복
Untagged,Somebody,unknownword
Not In Melon,Anyone,슬픔
"""


@pytest.fixture()
def fixture(tmp_path: Path) -> tuple[Path, Path, Path]:
    meta = tmp_path / "song_meta.json"
    meta.write_text(json.dumps(SONGS, ensure_ascii=False), encoding="utf-8")
    mel_root = tmp_path / "arena_mel"
    rng = np.random.default_rng(0)
    for sid in (101, 2205, 3310, 2700, 5050):
        p = melon_mel_path(mel_root, sid)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, rng.normal(size=(48, 1876)).astype(np.float16))
    csv_path = tmp_path / "joyfuljune.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    return meta, csv_path, mel_root


def test_build_aligns_names_tags_genres_and_mels(fixture) -> None:
    meta, csv_path, mel_root = fixture
    ds = build_me14k(meta, csv_path, mel_root)
    by_id = {it.melon_id: it for it in ds.items}
    assert sorted(by_id) == [101, 2205, 2700, 3310]
    assert by_id[101].tags == (("Missing", 3.0), ("Nostalgia", 2.0), ("Sadness", 1.0))
    assert by_id[2205].tags == (("Romantic", 7.0),)  # two rows of one song merged
    # feat./bracket credits stripped on both sides; English AllMusic moods resolved too
    assert [t for t, _ in by_id[3310].tags][0] == "Sadness" and "Nostalgia" in dict(by_id[3310].tags)
    assert by_id[3310].genres == tuple(canonical_genres(["GN0505"]))  # falls back to detailed codes
    assert by_id[101].genres == tuple(canonical_genres(["GN0200"]))
    assert by_id[2700].mel_path == mel_root / "2" / "2700.npy"  # ambiguous: the copy that has a mel wins
    rel = by_id[101].relevance
    assert rel.shape == (12,) and rel[TAGS.index("Missing")] == 3.0 and rel.sum() == 6.0
    assert ds.stats == {
        "csv_rows": 8,
        "csv_songs": 8,
        "matched": 7,
        "ambiguous": 1,
        "unmatched": 1,
        "untagged": 1,
        "no_mel": 1,
        "duplicates": 1,
        "items": 4,
    }
    assert ds.unmatched == [("Not In Melon", "Anyone")]
    mel = load_melon_mel(by_id[101].mel_path)
    assert mel.dtype == np.float32 and mel.shape == (48, 1876)


def test_options_and_custom_mappings(fixture) -> None:
    meta, csv_path, mel_root = fixture
    ds = build_me14k(
        json.loads(meta.read_text()),
        csv_path,
        mel_root,
        require_mel=False,
        genre_mapper=lambda codes: ["Melon:" + c for c in codes],
        tag_map={"그리움": "Missing", "슬픔": ["Sadness", "Loneliness"], "행복": "Happiness"},
    )
    by_id = {it.melon_id: it for it in ds.items}
    assert by_id[4040].mel_path is None and by_id[4040].genres == ("Melon:GN0100",)
    assert by_id[101].tags == (("Missing", 3.0), ("Loneliness", 1.0), ("Sadness", 1.0))
    with pytest.raises(Me14kError, match="unknown tags"):
        build_me14k(meta, csv_path, mel_root, tag_map={"x": "Joy"})


def test_configurable_columns_and_row_weights(tmp_path: Path, fixture) -> None:
    meta, _, mel_root = fixture
    csv_path = tmp_path / "ko.csv"
    csv_path.write_text("곡명,가수,감정,횟수\n봄날,방탄소년단,슬픔,4\n봄날,방탄소년단,그리움,9\n", encoding="utf-8")
    cols = Me14kColumns(title="곡명", artist="가수", tags="감정", weight="횟수")
    ds = build_me14k(meta, csv_path, mel_root, columns=cols)
    assert [(it.melon_id, it.tags) for it in ds.items] == [(101, (("Missing", 9.0), ("Sadness", 4.0)))]
    with pytest.raises(Me14kError, match="lacks columns"):
        build_me14k(meta, csv_path, mel_root)


def test_index_round_trip_and_errors(tmp_path: Path, fixture) -> None:
    meta, csv_path, mel_root = fixture
    ds = build_me14k(meta, csv_path, mel_root)
    write_me14k_index(ds, tmp_path / "me14k.json")
    back = read_me14k_index(tmp_path / "me14k.json")
    assert [(i.melon_id, i.tags, i.genres, i.mel_path) for i in back.items] == [
        (i.melon_id, i.tags, i.genres, i.mel_path) for i in ds.items
    ]
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 10), np.float16))
    with pytest.raises(Me14kError, match="48, T"):
        load_melon_mel(bad)
    with pytest.raises(Me14kError, match="song_meta"):
        build_me14k(tmp_path / "missing.json", csv_path, mel_root)
    with pytest.raises(Me14kError, match="tag CSV"):
        build_me14k(meta, tmp_path / "missing.csv", mel_root)
