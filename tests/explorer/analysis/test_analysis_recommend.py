"""Recommendations: near neighbours first, likes/dislikes excluded, explanations name the nearest liked track."""

import numpy as np
import pytest

from explorer.analysis import AnalysisError, recommend
from explorer.analysis.recommend import liked_rows


def points():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 32))
    base = np.stack([a, b])
    emb = np.concatenate([a + 0.05 * rng.normal(size=(5, 32)), b + 0.05 * rng.normal(size=(5, 32))])
    return emb.astype(np.float32), base


def test_prefers_near_neighbours_and_explains():
    emb, _ = points()
    titles = [f"song {i}" for i in range(10)]
    recs = recommend(emb, liked=[0], n=4, titles=titles)
    assert [r.index for r in recs] and {r.index for r in recs} == {1, 2, 3, 4}
    assert all(r.nearest_liked == 0 for r in recs)
    assert recs[0].explanation.startswith("near “song 0”, which you liked")
    assert all(recs[i].score >= recs[i + 1].score for i in range(3))


def test_dislikes_push_away_and_are_excluded():
    emb, _ = points()
    recs = recommend(emb, liked=[0, 5], disliked=[6], n=10)
    idx = [r.index for r in recs]
    assert not {0, 5, 6} & set(idx)
    # group A (0..4) beats group B (5..9): the dislike sits in group B
    assert set(idx[:4]) == {1, 2, 3, 4}
    only_dislikes = recommend(emb, liked=[], disliked=[5], n=3)
    assert all(r.index < 5 for r in only_dislikes) and "disliked" in only_dislikes[0].explanation


def test_explanation_names_the_nearest_of_several_likes():
    emb, _ = points()
    recs = recommend(emb, liked=[0, 5], n=8, titles=[f"t{i}" for i in range(10)])
    for r in recs:
        assert r.nearest_liked == (0 if r.index < 5 else 5)
        assert f"“t{r.nearest_liked}”" in r.explanation


def test_candidates_and_bad_input():
    emb, _ = points()
    recs = recommend(emb, liked=[0], candidates=np.array([7, 8]), n=5)
    assert sorted(r.index for r in recs) == [7, 8]
    with pytest.raises(AnalysisError):
        recommend(emb, liked=[])
    with pytest.raises(AnalysisError):
        recommend(emb, liked=[0], disliked=[0])
    with pytest.raises(AnalysisError):
        recommend(emb, liked=[99])


def test_liked_rows():
    likes, dislikes = liked_rows(np.array([0, 1, -1, 1, 0], dtype=np.int8))
    assert likes.tolist() == [1, 3] and dislikes.tolist() == [2]
