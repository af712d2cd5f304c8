"""Filters: genre any-of, emotion top-k OR threshold, quadrant argmax, facets combined with AND; facet counts."""

import numpy as np
import pytest

from explorer.analysis import AnalysisError, TrackFilter, facet_counts, filter_tracks
from explorer.analysis.filtering import emotion_membership
from synthetic import synthetic_library


def small_library():
    lib = synthetic_library(
        4,
        n_descriptors=3,
        genre_names=("Pop", "Jazz", "Rock", "Unknown"),
        tag_names=("Relaxation", "Romantic", "Anger", "Quiet"),
    )
    lib.genres[:] = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32)
    # track 0: Romantic is 2nd; track 1: Romantic is 4th (0.05); track 2: Romantic 3rd; track 3: Romantic 1st
    lib.tag_scores[:] = np.array(
        [
            [0.50, 0.30, 0.15, 0.05],
            [0.40, 0.05, 0.30, 0.25],
            [0.40, 0.20, 0.30, 0.10],
            [0.10, 0.70, 0.10, 0.10],
        ],
        dtype=np.float32,
    )
    lib.quadrant_probs[:] = np.array(
        [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]], dtype=np.float32
    )
    return lib


def test_genre_any_of_and_case_insensitive():
    lib = small_library()
    assert filter_tracks(lib, genres=["Jazz"]).tolist() == [1, 2]
    assert filter_tracks(lib, genres=["jazz", "POP"]).tolist() == [0, 1, 2]
    assert filter_tracks(lib).tolist() == [0, 1, 2, 3]


def test_emotion_top_k_and_threshold():
    lib = small_library()
    assert filter_tracks(lib, emotions="Romantic", emotion_top_k=1).tolist() == [3]
    assert filter_tracks(lib, emotions="Romantic", emotion_top_k=2).tolist() == [0, 3]
    assert filter_tracks(lib, emotions="Romantic").tolist() == [0, 2, 3]  # default top-3
    # threshold alone (top-k off) and OR-ed with top-k
    assert filter_tracks(lib, emotions="Romantic", emotion_top_k=0, emotion_threshold=0.25).tolist() == [0, 3]
    assert filter_tracks(lib, emotions="Romantic", emotion_top_k=1, emotion_threshold=0.2).tolist() == [0, 2, 3]


def test_emotion_membership_counts_exactly_k_per_track():
    scores = np.random.default_rng(0).dirichlet(np.ones(12), size=50)
    member = emotion_membership(scores, top_k=3)
    assert (member.sum(axis=1) == 3).all()
    assert member[np.arange(50), scores.argmax(axis=1)].all()


def test_quadrant_and_facets_combine_with_and():
    lib = small_library()
    assert filter_tracks(lib, quadrants=["Q3", 4]).tolist() == [2, 3]
    assert filter_tracks(lib, genres="Jazz", emotions="Romantic").tolist() == [2]
    assert filter_tracks(lib, TrackFilter.of(genres="Jazz", quadrants="q2")).tolist() == [1]


def test_unknown_names_are_errors_not_empty_results():
    lib = small_library()
    with pytest.raises(AnalysisError, match="unknown genre"):
        filter_tracks(lib, genres=["Polka"])
    with pytest.raises(AnalysisError, match="unknown emotion"):
        filter_tracks(lib, emotions=["Bliss"])
    with pytest.raises(AnalysisError, match="unknown quadrant"):
        filter_tracks(lib, quadrants=["Q5"])


def test_facet_counts_use_the_other_facets_only():
    lib = small_library()
    counts = facet_counts(lib, TrackFilter.of(genres=["Jazz"], emotions=["Romantic"]))
    # genre counts under the emotion filter (tracks 0, 2, 3 are Romantic)
    assert counts.genres == {"Pop": 2, "Jazz": 1, "Rock": 0, "Unknown": 1}
    # emotion counts under the genre filter (tracks 1, 2)
    assert counts.emotions["Romantic"] == 1 and counts.emotions["Relaxation"] == 2
    # quadrant counts under genre AND emotion (track 2 only)
    assert counts.quadrants == {"Q1": 0, "Q2": 0, "Q3": 1, "Q4": 0}
    assert counts.total == 1


def test_empty_library_filters_cleanly():
    lib = synthetic_library(0)
    assert filter_tracks(lib, genres=["Jazz"], emotions=["Romantic"], quadrants=[1]).tolist() == []
    assert facet_counts(lib).total == 0
