"""What plays next and where the arrow keys go (explorer.analysis.navigation), rows across snapshots
(explorer.analysis.rows) and text search (explorer.analysis.search): plain numpy, no Qt."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.navigation import (
    PlayMode,
    PlayQueue,
    Points,
    nearest_in_direction,
    nearest_unplayed,
    next_row,
)
from explorer.analysis.rows import row_of_track, translate_row, translate_rows
from explorer.analysis.search import rows_of_paths, search_rows

# a 3 x 3 grid; rows are numbered 10.. so a row is never confused with a position
COORDS = np.array([[x, y] for y in range(3) for x in range(3)], dtype=float)
ROWS = np.arange(10, 19)
CLUSTERS = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1])
GRID = Points(ROWS, COORDS, CLUSTERS)


def row_at(x: int, y: int) -> int:
    return int(ROWS[y * 3 + x])


def test_drift_walks_to_the_nearest_unplayed_point_and_never_repeats_while_some_are_left():
    current, played = row_at(0, 0), [row_at(0, 0)]
    seen = [current]
    for _ in range(8):
        nxt = nearest_unplayed(GRID, current, played)
        assert nxt not in played
        d = np.hypot(*(COORDS[ROWS == nxt][0] - COORDS[ROWS == current][0]))
        fresh = ~np.isin(ROWS, played)
        best = np.hypot(*(COORDS[fresh] - COORDS[ROWS == current][0]).T).min()
        assert d == pytest.approx(best)  # the nearest of the unplayed ones
        played.append(nxt)
        seen.append(nxt)
        current = nxt
    assert sorted(seen) == sorted(ROWS.tolist())
    assert nearest_unplayed(GRID, current, played) is not None  # all played: starts over rather than stopping


def test_cluster_mode_stays_in_the_subcategory():
    start = row_at(0, 0)  # cluster 0: (0,0) (1,0) (0,1) (1,1)
    q = PlayQueue(played=[start])
    got = []
    current = start
    for _ in range(3):
        current = next_row(PlayMode.CLUSTER, q, GRID, current)
        q.mark_played(current)
        got.append(current)
    assert sorted(got) == sorted([row_at(1, 0), row_at(0, 1), row_at(1, 1)])


def test_queue_first_then_mode_region_in_order_and_stop():
    q = PlayQueue()
    q.add([row_at(2, 2), row_at(0, 2)])
    q.play_next(row_at(1, 1))
    assert q.rows == [row_at(1, 1), row_at(2, 2), row_at(0, 2)]
    assert [next_row(PlayMode.STOP, q, GRID, None) for _ in range(3)] == [row_at(1, 1), row_at(2, 2), row_at(0, 2)]
    assert next_row(PlayMode.STOP, q, GRID, row_at(0, 2)) is None
    assert next_row(PlayMode.QUEUE, q, GRID, row_at(0, 2)) is None
    region = [row_at(2, 0), row_at(0, 1), row_at(1, 2)]
    assert next_row(PlayMode.REGION, q, GRID, region[0], region) == region[1]
    assert next_row(PlayMode.REGION, q, GRID, region[-1], region) is None


def test_arrow_keys_pick_the_nearest_point_in_that_direction():
    centre = row_at(1, 1)
    assert nearest_in_direction(GRID, centre, "right") == row_at(2, 1)
    assert nearest_in_direction(GRID, centre, "left") == row_at(0, 1)
    assert nearest_in_direction(GRID, centre, "up") == row_at(1, 2)
    assert nearest_in_direction(GRID, centre, "down") == row_at(1, 0)
    assert nearest_in_direction(GRID, row_at(2, 1), "right") is None  # nothing further right
    # directions are judged on screen: with y drawn 10x smaller, (1, 1) lies almost straight right of (0, 0)
    assert nearest_in_direction(GRID, row_at(0, 0), "up", scale=(1.0, 0.1)) == row_at(0, 1)
    assert nearest_in_direction(GRID, row_at(0, 1), "right", scale=(1.0, 0.1)) == row_at(1, 1)
    assert nearest_in_direction(GRID, None, "left") == int(ROWS[0])  # nothing selected: start somewhere


class _Snap:
    def __init__(self, ids, paths=None, titles=None):
        self.track_ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        self.paths = paths or [f"/m/{i}.ogg" for i in ids]
        self.titles = titles or [""] * n
        self.artists = [""] * n
        self.albums = [""] * n

    def __len__(self):
        return len(self.track_ids)


def test_rows_follow_track_ids_between_snapshots():
    old = _Snap([2, 5, 7, 9])
    new = _Snap([1, 2, 3, 5, 9])  # 7 left the library, 1 and 3 arrived
    assert translate_rows([0, 1, 2, 3], old, new).tolist() == [1, 3, 4]
    assert translate_row(2, old, new) is None and translate_row(1, old, new) == 3
    assert translate_rows([1, 0], old, old).tolist() == [1, 0]
    assert row_of_track(new, 9) == 4 and row_of_track(new, 7) is None and row_of_track(None, 1) is None


def test_search_needs_every_word_in_any_field_any_case(tmp_path):
    snap = _Snap(
        [1, 2, 3], paths=["/m/jazz/a.ogg", "/m/rock/b.ogg", "/m/jazz/c.ogg"], titles=["Blue in Green", "", "So What"]
    )
    snap.artists = ["Miles Davis", "Band", "Miles Davis"]
    assert search_rows(snap, "miles").tolist() == [0, 2]
    assert search_rows(snap, "MILES what").tolist() == [2]
    assert search_rows(snap, "rock").tolist() == [1]  # the path counts
    assert search_rows(snap, "   ").tolist() == []
    rows, missing = rows_of_paths(snap, ["/m/jazz/c.ogg", "/nowhere.ogg", "/m/jazz/a.ogg"])
    assert rows == [2, 0] and missing == ["/nowhere.ogg"]
