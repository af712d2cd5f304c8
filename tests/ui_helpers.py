"""Helpers for the window tests: a player that records instead of making sound, and map point <-> pixel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF


class RecordingPlayer:
    """The PlayerBackend API, recording every call instead of making sound."""

    def __init__(self) -> None:
        self.on_finished = self.on_error = None
        self.calls: list[tuple] = []
        self.path = None
        self.position = self.duration = 0.0
        self.is_paused = False
        self.volume = 1.0

    @property
    def is_playing(self) -> bool:
        return self.path is not None and not self.is_paused

    def play(self, path, start=0.0, duration=None):
        self.calls.append(("play", str(path), float(start), duration))
        self.path, self.position, self.duration, self.is_paused = str(path), float(start), 30.0, False

    def pause(self):
        self.is_paused = True

    def resume(self):
        self.is_paused = False

    def seek(self, seconds):
        self.calls.append(("seek", float(seconds)))

    def set_volume(self, volume):
        self.volume = volume

    def set_device(self, device):
        self.calls.append(("device", device))

    def stop(self):
        self.calls.append(("stop",))
        self.path = None

    def close(self):
        self.path = None

    def plays(self) -> list[tuple]:
        return [c for c in self.calls if c[0] == "play"]


def widget_pos(win, x: float, y: float) -> QPoint:
    scene_pos = win.map.viewbox.mapViewToScene(QPointF(x, y))
    return win.map.mapFromScene(scene_pos)


def isolated_point(win) -> int:
    """Index (within the drawn points) of a point with no neighbour or label within clicking distance."""
    drawn = win.map.drawn
    px = np.array([[p.x(), p.y()] for p in (widget_pos(win, *xy) for xy in drawn.coords)], dtype=float)
    legend = win.map.mapFromScene(drawn.legend.sceneBoundingRect()).boundingRect()
    best, best_gap = -1, 0.0
    for i, p in enumerate(px):
        if legend.contains(QPoint(int(p[0]), int(p[1]))):
            continue
        gap = np.sort(np.hypot(*(px - p).T))[1]
        if gap > best_gap:
            best, best_gap = i, gap
    assert best >= 0 and best_gap > 12, "no clickable point"
    return best
