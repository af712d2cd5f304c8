"""What plays: the selected track, play / pause, next and previous, the queue and continuous play.

The decisions (which track comes next) are explorer.analysis.navigation's; this object applies them to the
player and tells the panels what changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from explorer.analysis import display
from explorer.analysis.navigation import PlayMode, PlayQueue, nearest_in_direction, next_row
from explorer.ui.library_controller import LibraryController
from explorer.ui.map_controller import MapController
from explorer.ui.qt_player import QtPlayer
from explorer.ui.track_list import AuditionPanel

log = logging.getLogger(__name__)
HISTORY = 200


class PlayController(QObject):
    selected = Signal(int)  # live row now selected (details, ring)
    now_playing = Signal(int)  # live row that started playing
    queue_changed = Signal()
    message = Signal(str)  # a short status-bar note
    error = Signal(str, str)  # title, message for a dialog

    def __init__(
        self,
        library: LibraryController,
        maps: MapController,
        player: QtPlayer,
        audition: AuditionPanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library, self.maps, self.player, self.audition = library, maps, player, audition
        self.current_row: int | None = None
        self.playing_row: int | None = None
        self.mode = PlayMode.DRIFT
        self.queue = PlayQueue()
        self.history: list[int] = []
        self.resume_at: float | None = None  # a remembered position for the selected track (last session)
        player.finished.connect(self._on_finished)
        player.failed.connect(self._on_error)
        audition.play_requested.connect(lambda row, secs: self.play_row(row, preview=secs))
        audition.stop_requested.connect(player.stop)

    @property
    def arrays(self):
        return self.library.arrays

    def reset(self) -> None:
        """A new library: rows mean other tracks now."""
        self.current_row = self.playing_row = None
        self.queue = PlayQueue()
        self.history.clear()
        self.resume_at = None
        self.queue_changed.emit()

    # -- selection and playing ------------------------------------------------------------------
    def select_row(self, row: int | None) -> None:
        """Show a track's details (and make it the target of L / D / Space) without playing it."""
        a = self.arrays
        if a is None or row is None or not 0 <= row < len(a):
            return
        if row != self.current_row:
            self.resume_at = None
        self.current_row = int(row)
        self.maps.highlight(self.current_row)
        self.selected.emit(self.current_row)

    def select_drawn(self, drawn_row: int) -> None:
        live = self.maps.to_live([drawn_row])
        if live:
            self.select_row(live[0])

    def play_drawn(self, drawn_row: int) -> None:
        """A click on the map: play that point (ringed, liked or a star alike)."""
        live = self.maps.to_live([drawn_row])
        if live:
            self.play_row(live[0])

    def play_row(
        self, row: int, preview: float | None = None, *, from_start: bool = False, at: float | None = None
    ) -> bool:
        """Play a track from its analysed excerpt (what the model heard), its start, `at` seconds, or a preview."""
        a = self.arrays
        if a is None or not 0 <= row < len(a):
            return False
        if preview is None and self.audition.active:
            self.audition.stop()
        self.select_row(row)
        start = 0.0 if from_start else float(a.excerpt_starts[row]) if at is None else float(at)
        log.info("play %s from %.2f s%s", a.paths[row], start, f" ({preview:.0f} s preview)" if preview else "")
        if not self.player.play(a.paths[row], start, preview):
            return False
        self.playing_row = int(row)
        if not self.history or self.history[-1] != row:
            self.history = [*self.history, int(row)][-HISTORY:]
        self.queue.mark_played(int(row))
        self.now_playing.emit(int(row))
        return True

    def toggle(self) -> None:
        """Pause / resume; with nothing loaded (never played, or the track ended) play the selected track."""
        if self.player.backend.path:
            self.player.toggle()
            return
        row = self.current_row
        if row is None:
            reps = self.maps.representatives()
            row = reps[0] if reps else None
        if row is not None:
            self.play_row(row, at=self.resume_at)
            self.resume_at = None

    def play_selected(self) -> None:
        if self.current_row is not None:
            self.play_row(self.current_row)

    def play_selected_from_start(self) -> None:
        if self.current_row is not None:
            self.play_row(self.current_row, from_start=True)

    # -- queue ----------------------------------------------------------------------------------
    def play_selected_next(self) -> None:
        if self.current_row is not None:
            self.play_next(self.current_row)

    def queue_selected(self) -> None:
        if self.current_row is not None:
            self.add_to_queue([self.current_row])

    def play_next(self, row: int) -> None:
        self.queue.play_next(row)
        self.queue_changed.emit()
        self.message.emit(f"Plays next: {display.track_title(self.arrays, row)}")

    def add_to_queue(self, rows: list[int]) -> None:
        self.queue.add(rows)
        self.queue_changed.emit()
        if len(rows) == 1:
            self.message.emit(f"Queued: {display.track_title(self.arrays, rows[0])}")
        else:
            self.message.emit(f"Queued {len(rows)} tracks")

    def remove_from_queue(self, row: int) -> None:
        self.queue.remove(row)
        self.queue_changed.emit()

    def clear_queue(self) -> None:
        self.queue.rows.clear()
        self.queue_changed.emit()

    def set_mode(self, mode: PlayMode | str) -> None:
        self.mode = PlayMode(mode)

    # -- next / previous ------------------------------------------------------------------------
    def _next(self, mode: PlayMode) -> int | None:
        had_queue = bool(self.queue.rows)
        row = next_row(
            mode,
            self.queue,
            self.maps.points(),
            self.playing_row if self.playing_row is not None else self.current_row,
            region=self.audition.rows,
        )
        if had_queue:
            self.queue_changed.emit()
        return row

    def next_track(self) -> None:
        """Ctrl+Right / ▶▶ / media Next: the queue first, else the continuous-play mode (drift when it is off)."""
        if self.audition.active:
            self.audition.next()
            return
        mode = self.mode if self.mode not in (PlayMode.STOP, PlayMode.QUEUE) else PlayMode.DRIFT
        row = self._next(mode)
        if row is not None:
            self.play_row(row)

    def previous_track(self) -> None:
        if self.audition.active:
            self.audition.previous()
            return
        if len(self.history) >= 2:
            self.history.pop()
            self.play_row(self.history.pop())
        elif self.current_row is not None:
            self.play_row(self.current_row)

    def move(self, direction: str, scale: tuple[float, float] = (1.0, 1.0)) -> None:
        """Arrow keys on the map: select the nearest point in that direction."""
        row = nearest_in_direction(self.maps.points(), self.current_row, direction, scale)
        if row is not None:
            self.select_row(row)

    # -- player events --------------------------------------------------------------------------
    def _on_finished(self, _path: str) -> None:
        if self.audition.active:
            self.audition.preview_finished()
            return
        self.playing_row = self.current_row if self.playing_row is None else self.playing_row
        row = self._next(self.mode)
        if row is not None:
            self.play_row(row)

    def _on_error(self, message: str) -> None:
        """A file that won't play is skipped during an audition or continuous play; otherwise the user is told."""
        self.message.emit(message)
        if self.audition.active:
            self.audition.preview_finished()
        else:
            self.error.emit("Cannot play this track", message)

    def last_track(self) -> tuple[str, float] | None:
        """(path, seconds) of the track to remember, or None."""
        a = self.arrays
        if a is None or self.current_row is None or self.current_row >= len(a):
            return None
        b = self.player.backend
        pos = float(b.position) if b.path == a.paths[self.current_row] else float(a.excerpt_starts[self.current_row])
        return str(Path(a.paths[self.current_row])), pos
