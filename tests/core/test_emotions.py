"""The mood -> tag table: structure, graded relevance, and the documented numbers on the real 4Q labels."""

from __future__ import annotations

import numpy as np
import pytest

from core.emotions import QUADRANTS, TAGS, mood_to_tags, quadrant_index, relevance_vector


def test_twelve_tags_in_paper_order():
    assert TAGS == (
        "Relaxation",
        "Excitement",
        "Healing",
        "Romantic",
        "Happiness",
        "Nostalgia",
        "Fresh",
        "Quiet",
        "Touching",
        "Loneliness",
        "Sadness",
        "Missing",
    )
    assert QUADRANTS == ("Q1", "Q2", "Q3", "Q4")


def test_graded_relevance_counts_moods_per_tag():
    rel = mood_to_tags("Sad; Gloomy; Wistful; Happy; Harsh")
    assert rel == {"Sadness": 2, "Nostalgia": 1, "Missing": 1, "Happiness": 1}
    vec = relevance_vector(["  MELANCHOLY ", "calm"])
    assert vec.dtype == np.float32 and vec.shape == (12,)
    assert vec[TAGS.index("Sadness")] == 1 and vec[TAGS.index("Relaxation")] == 1 and vec.sum() == 2


def test_unmapped_moods_give_no_tags():
    assert mood_to_tags("Hostile; Menacing") == {}
    assert not relevance_vector("").any()


def test_quadrant_index():
    assert quadrant_index("q3") == 2
    with pytest.raises(ValueError):
        quadrant_index("Q5")


def test_real_4q_labels_give_documented_numbers(fourq_dir):
    from core.data.fourq import read_fourq, tag_statistics

    stats = tag_statistics(read_fourq(fourq_dir))
    assert stats["clips"] == 800
    assert round(stats["tags_per_clip"], 2) == 2.06
    assert stats["clips_without_tag"] == 128
    # the untagged clips are mostly the angry/tense quadrant, which the 12 tags barely cover
    assert max(stats["clips_without_tag_by_quadrant"], key=stats["clips_without_tag_by_quadrant"].get) == "Q2"
