"""The one formatter for display values: titles, quadrants, K, descriptor labels and index summaries."""

from __future__ import annotations

import numpy as np

from explorer.analysis.display import (
    QUADRANT_NAMES,
    descriptor_labels,
    index_summary_lines,
    index_summary_status,
    k_text,
    quadrant_hint,
    top_quadrant_text,
    track_title,
    track_titles,
)
from explorer.library.indexer import IndexSummary
from synthetic import synthetic_library


def test_title_falls_back_to_the_file_name():
    lib = synthetic_library(3)
    lib.titles[1] = ""
    assert track_title(lib, 0) == "Track 0"
    assert track_title(lib, 1) == "000001"  # /music/synthetic/000001.flac
    assert track_titles(lib) == ["Track 0", "000001", "Track 2"]


def test_quadrants_read_with_their_valence_arousal_words():
    assert QUADRANT_NAMES == ("Q1", "Q2", "Q3", "Q4")
    assert quadrant_hint("Q3") == "Q3 · sad / depressed"
    assert top_quadrant_text(np.array([0.1, 0.2, 0.6, 0.1], dtype=np.float32)) == "Q3 (60%)"


def test_k_text_says_when_k_was_chosen_automatically():
    assert k_text(4, True) == "K = 4 (auto)"
    assert k_text(2, False) == "K = 2"


def test_descriptor_labels_come_from_the_table_and_unknown_columns_stay_readable():
    labels = descriptor_labels(["brightness", "an_old_column"])
    assert labels["brightness"] != "brightness" and labels["brightness"]
    assert labels["an_old_column"] == "an old column"


def test_index_summary_lines_and_status_agree():
    summary = IndexSummary(
        added=3, analysed=3, unchanged=5, failed=[("/m/a.mp3", "cannot decode")], elapsed=1.25, model_version=None
    )
    lines = index_summary_lines(summary)
    assert lines[0].startswith("3 analysed (3 new") and "1 failed in 1.2 s" in lines[0]
    assert "  failed: /m/a.mp3: cannot decode" in lines
    assert any("no emotion model installed" in line for line in lines)
    status = index_summary_status(summary)
    assert status.startswith("Library up to date: 3 analysed, 5 unchanged, 1 could not be read")
    assert "no emotion model installed" in status
    assert "no emotion model" not in index_summary_status(IndexSummary(model_version="v1"))
