"""The transport bar under the map: previous / play-pause / next, seek slider, time, volume, current track."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from explorer.ui.qt_player import QtPlayer


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


class PlayerBar(QWidget):
    previous_requested = Signal()
    next_requested = Signal()
    volume_changed = Signal(int)  # 0..100, for the settings

    def __init__(self, player: QtPlayer, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.player = player
        style = self.style()
        self.prev_button = self._button(style.standardIcon(QStyle.SP_MediaSkipBackward), "Previous (Left)")
        self.play_button = self._button(style.standardIcon(QStyle.SP_MediaPlay), "Play / pause (Space)")
        self.next_button = self._button(style.standardIcon(QStyle.SP_MediaSkipForward), "Next (Right)")
        self.track_label = QLabel("Click a point on the map to listen")
        self.track_label.setObjectName("trackLabel")
        self.track_label.setMinimumWidth(220)
        self.time_label = QLabel("0:00 / 0:00")
        self.seek = QSlider(Qt.Horizontal)
        self.seek.setRange(0, 1000)
        self.seek.setToolTip("Seek")
        self.volume = QSlider(Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(100)
        self.volume.setToolTip("Volume")
        vol_icon = QLabel()
        vol_icon.setPixmap(style.standardIcon(QStyle.SP_MediaVolume).pixmap(16, 16))

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        for w in (self.prev_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addWidget(self.track_label, 2)
        layout.addWidget(self.seek, 3)
        layout.addWidget(self.time_label)
        layout.addSpacing(12)
        layout.addWidget(vol_icon)
        layout.addWidget(self.volume)

        self._dragging = False
        self._duration = 0.0
        self.prev_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.play_button.clicked.connect(player.toggle)
        self.seek.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.seek.sliderReleased.connect(self._seek_released)
        self.seek.valueChanged.connect(self._seek_stepped)
        self.volume.valueChanged.connect(self._volume_moved)
        player.position_changed.connect(self._on_position)
        player.state_changed.connect(self._on_state)
        player.set_volume(self.volume.value() / 100)

    def _button(self, icon, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        return b

    def set_track(self, title: str, artist: str) -> None:
        text = f"<b>{title}</b>" + (f" — {artist}" if artist else "")
        self.track_label.setText(text)

    def set_volume_percent(self, value: int) -> None:
        self.volume.setValue(int(value))

    def _volume_moved(self, value: int) -> None:
        self.player.set_volume(value / 100)
        self.volume_changed.emit(value)

    def _seek_released(self) -> None:
        self._dragging = False
        if self._duration > 0:
            self.player.seek(self.seek.value() / 1000 * self._duration)

    def _seek_stepped(self, value: int) -> None:
        """Keyboard and groove clicks move the slider without a drag: seek at once (position updates are
        applied with signals blocked, so they never land here)."""
        if not self._dragging and self._duration > 0:
            self.player.seek(value / 1000 * self._duration)

    def _on_position(self, position: float, duration: float) -> None:
        self._duration = duration
        self.time_label.setText(f"{_clock(position)} / {_clock(duration)}")
        if not self._dragging and duration > 0:
            self.seek.blockSignals(True)
            self.seek.setValue(int(1000 * position / duration))
            self.seek.blockSignals(False)

    def _on_state(self, playing: bool) -> None:
        icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
