"""Qt face of explorer.playback.Player: its plain callbacks (fired on the decoder thread) are handed to the GUI
thread (tasks.to_main), and a timer publishes the position, so widgets only ever touch the player from the GUI
thread."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from explorer.ui.tasks import to_main

log = logging.getLogger(__name__)


class PlayerBackend(Protocol):
    """What the window needs from a player; explorer.playback.Player is the real one, tests inject a recorder."""

    on_finished: object
    on_error: object
    path: str | None
    position: float
    duration: float
    is_playing: bool
    is_paused: bool
    volume: float

    def play(self, path: str, start: float = 0.0, duration: float | None = None) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def seek(self, seconds: float) -> None: ...
    def set_volume(self, volume: float) -> None: ...
    def set_device(self, device) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class QtPlayer(QObject):
    started = Signal(str, float)  # path, start seconds
    finished = Signal(str)  # path that reached its end (or its preview length)
    failed = Signal(str)  # user-facing message
    position_changed = Signal(float, float)  # position, duration
    state_changed = Signal(bool)  # True while sound is coming out

    def __init__(self, backend: PlayerBackend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        backend.on_finished = lambda path: to_main(self._on_finished, path)  # called on the decoder thread
        backend.on_error = lambda path, message: to_main(self.failed.emit, message)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _on_finished(self, path: str) -> None:
        log.info("finished %s at %.2f s", path, float(self.backend.position))
        self.state_changed.emit(False)
        self.finished.emit(path)

    def _tick(self) -> None:
        if self.backend.path:
            self.position_changed.emit(float(self.backend.position), float(self.backend.duration))

    # -- commands (GUI thread) ------------------------------------------------------------------
    def play(self, path: str | Path, start: float = 0.0, duration: float | None = None) -> bool:
        """Start a track; a failure becomes a `failed` signal instead of an exception."""
        try:
            self.backend.play(str(path), start=float(start), duration=duration)
        except Exception as exc:  # PlaybackError and anything a broken device throws
            log.warning("cannot play %s: %s", path, exc)
            self.failed.emit(str(exc))
            self.state_changed.emit(False)
            return False
        self.started.emit(str(path), float(start))
        self.state_changed.emit(True)
        return True

    def toggle(self) -> None:
        if not self.backend.path:
            return
        if self.backend.is_paused:
            self.backend.resume()
        else:
            self.backend.pause()
        self.state_changed.emit(not self.backend.is_paused)

    def seek(self, seconds: float) -> None:
        self.backend.seek(float(seconds))

    def set_volume(self, volume: float) -> None:
        self.backend.set_volume(float(volume))

    def set_device(self, device) -> None:
        self.backend.set_device(device)

    def stop(self) -> None:
        self.backend.stop()
        self.state_changed.emit(False)

    def close(self) -> None:
        self._timer.stop()
        try:
            self.backend.close()
        except Exception:
            pass
