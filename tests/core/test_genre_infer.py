"""Genre from audio: the mapping table, thresholds, tag genres winning, and how inferred genres are shown."""

from __future__ import annotations

import numpy as np
import pytest

from core.features.genre import GENRE_INDEX, GENRES, UNKNOWN
from core.features.genre_infer import (
    display_genres,
    genre_scores,
    genre_vectors_from_tags,
    infer_genres,
    resolve_genres,
    rules,
)
from core.features.musicnn import MSD_TAGS
from core.resources import load_json_resource

TABLE = {
    "tags": {"Jazz": ["jazz"], "Pop/Rock": ["rock", "punk"], "Rap": ["Hip-Hop"]},
    "thresholds": {"Jazz": 0.3, "Pop/Rock": 0.5, "Rap": None},
}


def _tags(**values: float) -> np.ndarray:
    tags = np.full(len(MSD_TAGS), 0.01, dtype=np.float32)
    for name, v in values.items():
        tags[MSD_TAGS.index(name.replace("_", "-") if name == "Hip_Hop" else name)] = v
    return tags


def test_scores_take_the_strongest_evidence_tag():
    evidence, thresholds = rules(TABLE)
    scores = genre_scores(np.stack([_tags(rock=0.2, punk=0.7), _tags(jazz=0.4)]), evidence)
    assert scores.shape == (2, len(GENRES))
    assert scores[0, GENRE_INDEX["Pop/Rock"]] == pytest.approx(0.7)
    assert scores[1, GENRE_INDEX["Jazz"]] == pytest.approx(0.4)
    assert scores[:, GENRE_INDEX["Classical"]].max() == 0  # no MSD tag speaks for Classical
    assert np.isinf(thresholds[GENRE_INDEX["Rap"]])  # null threshold: never inferred


def test_vectors_are_multi_hot_or_unknown():
    batch = np.stack([_tags(jazz=0.9, punk=0.8), _tags(jazz=0.29, rock=0.49), _tags(Hip_Hop=0.99)])
    vec = genre_vectors_from_tags(batch, TABLE)
    on = [[g for g, v in zip(GENRES, row) if v] for row in vec]
    assert on == [["Jazz", "Pop/Rock"], [UNKNOWN], [UNKNOWN]]  # below thresholds; Rap is never inferred
    assert vec.dtype == np.float32


def test_shipped_table_is_consistent():
    table = load_json_resource("musicnn_genres.json")
    evidence, thresholds = rules(table)  # raises on unknown genres or tags
    assert set(table["thresholds"]) <= set(table["tags"])
    chosen = {g for g, t in table["thresholds"].items() if t is not None}
    assert chosen, "no genre can be inferred: run scripts/choose_genre_threshold.py"
    assert "split=train" in table["chosen_on"]["data"]
    assert all(0 < thresholds[GENRE_INDEX[g]] < 1 for g in chosen)
    assert evidence[GENRE_INDEX[UNKNOWN]].sum() == 0


def test_tag_genres_win_and_inference_is_marked():
    rock = _tags(rock=0.99, punk=0.99, jazz=0.99, electronic=0.99, country=0.99, blues=0.99)
    assert resolve_genres("Jazz; Blues", rock) == (["Blues", "Jazz"], False)
    genres, inferred = resolve_genres(None, rock)
    assert inferred and genres == infer_genres(rock) and "Pop/Rock" in genres
    assert resolve_genres("", _tags()) == ([UNKNOWN], False)  # nothing strong enough: none inferred
    assert resolve_genres("nonsense", None) == ([UNKNOWN], False)  # audio not analysed
    assert infer_genres(_tags()) == []


def test_display_marks_inferred_genres():
    assert display_genres(["Jazz", "Blues"], False) == "Jazz, Blues"
    assert display_genres(["Pop/Rock"], True) == "Pop/Rock (from audio)"
    assert display_genres([], True) == UNKNOWN
    assert display_genres([UNKNOWN], False) == UNKNOWN


def test_bad_tag_shapes_and_tables_are_refused():
    with pytest.raises(ValueError, match="50"):
        genre_scores(np.zeros(49))
    with pytest.raises(ValueError, match="not an app genre"):
        rules({"tags": {"Polka": ["folk"]}, "thresholds": {}})
    with pytest.raises(ValueError, match="not MusiCNN-MSD tags"):
        rules({"tags": {"Folk": ["banjo"]}, "thresholds": {}})
