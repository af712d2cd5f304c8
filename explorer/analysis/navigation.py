"""Where playback goes next, on the map's points: continuous play modes, and arrow-key moves.

No Qt: the window hands in the drawn points (rows and 2-D coordinates) and gets rows back.
- drift: the nearest not-yet-played point to the current one (a walk through the map).
- cluster: the next point of the current point's subcategory, in map order, not yet played.
- region / queue: the next entry of an explicit list (audition region, user queue).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, 1.0), "down": (0.0, -1.0)}


class PlayMode(StrEnum):
    """What plays when a track ends."""

    STOP = "stop"
    DRIFT = "drift"
    CLUSTER = "cluster"
    REGION = "region"
    QUEUE = "queue"


MODE_LABELS = {
    PlayMode.STOP: "Stop after each track",
    PlayMode.DRIFT: "Drift to the nearest unplayed neighbour",
    PlayMode.CLUSTER: "Stay within the subcategory",
    PlayMode.REGION: "Play the audition region",
    PlayMode.QUEUE: "Play the queue only",
}


@dataclass
class Points:
    """The drawn map: arrays rows, their (x, y) and their subcategory."""

    rows: np.ndarray
    coords: np.ndarray
    clusters: np.ndarray

    def index_of(self, row: int | None) -> int | None:
        if row is None:
            return None
        hit = np.flatnonzero(self.rows == int(row))
        return int(hit[0]) if len(hit) else None


def nearest_unplayed(
    points: Points, current: int | None, played: Iterable[int], within_cluster: bool = False
) -> int | None:
    """The row nearest to `current` on the map that is not in `played` (and in its subcategory when asked).
    Everything played: start over with the nearest other point (played history is the caller's to reset)."""
    if not len(points.rows):
        return None
    i = points.index_of(current)
    if i is None:
        return int(points.rows[0])
    candidates = np.ones(len(points.rows), dtype=bool)
    candidates[i] = False
    if within_cluster and len(points.clusters) == len(points.rows):
        candidates &= points.clusters == points.clusters[i]
    fresh = candidates & ~np.isin(points.rows, np.fromiter(played, dtype=np.int64))
    pool = fresh if fresh.any() else candidates
    if not pool.any():
        return None
    d = np.hypot(*(points.coords - points.coords[i]).T)
    d[~pool] = np.inf
    return int(points.rows[int(np.argmin(d))])


def nearest_in_direction(
    points: Points, current: int | None, direction: str, scale: Sequence[float] = (1.0, 1.0)
) -> int | None:
    """The nearest point within 45° of `direction` ('left', 'right', 'up', 'down') from `current`.
    `scale` converts map units to screen units (x and y axes are scaled differently on screen)."""
    if not len(points.rows):
        return None
    i = points.index_of(current)
    if i is None:
        return int(points.rows[0])
    dx, dy = DIRECTIONS[direction]
    rel = (points.coords - points.coords[i]) * np.asarray(scale, dtype=float)
    along = rel[:, 0] * dx + rel[:, 1] * dy
    across = np.abs(rel[:, 0] * dy - rel[:, 1] * dx)
    ok = (along > 0) & (across <= along)
    ok[i] = False
    if not ok.any():
        return None
    cost = np.where(ok, along + 2.0 * across, np.inf)  # prefer points straight ahead
    return int(points.rows[int(np.argmin(cost))])


@dataclass
class PlayQueue:
    """The user's queue ("Play next" puts a row first, "Add to queue" last) and what has played this session."""

    rows: list[int] = field(default_factory=list)
    played: list[int] = field(default_factory=list)

    def play_next(self, row: int) -> None:
        self.remove(row)
        self.rows.insert(0, int(row))

    def add(self, rows: Iterable[int]) -> None:
        for r in rows:
            if int(r) not in self.rows:
                self.rows.append(int(r))

    def remove(self, row: int) -> None:
        self.rows = [r for r in self.rows if r != int(row)]

    def pop(self) -> int | None:
        return self.rows.pop(0) if self.rows else None

    def mark_played(self, row: int) -> None:
        self.played.append(int(row))


def next_row(
    mode: PlayMode, queue: PlayQueue, points: Points, current: int | None, region: Sequence[int] = ()
) -> int | None:
    """The row to play when `current` ends: the queue always goes first, then the mode decides."""
    queued = queue.pop()
    if queued is not None:
        return queued
    if mode in (PlayMode.STOP, PlayMode.QUEUE):
        return None
    if mode is PlayMode.REGION:
        region = [int(r) for r in region]
        if current in region and region.index(current) + 1 < len(region):
            return region[region.index(current) + 1]
        return None
    return nearest_unplayed(points, current, queue.played, within_cluster=mode is PlayMode.CLUSTER)
