"""The transport bar under the map: the current track on top; previous / play-pause / next, a seek bar that jumps
to the click, time, mute and volume below."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.qt_player import QtPlayer

SEEK_MIN_WIDTH = 120


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


class JumpSlider(QSlider):
    """A slider whose groove click jumps to the clicked position (not one page step), then drags from there."""

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                groove = self.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderGroove, self)
                span = max(groove.width() - handle.width(), 1)
                x = int(event.position().x()) - groove.x() - handle.width() // 2
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), x, span, opt.upsideDown)
                self.setValue(value)  # valueChanged seeks (see PlayerBar._seek_stepped)
        super().mousePressEvent(event)


class PlayerBar(QWidget):
    previous_requested = Signal()
    next_requested = Signal()
    play_requested = Signal()  # play / pause: the window decides (nothing loaded = play the selected track)
    volume_changed = Signal(int)  # 0..100, for the settings

    def __init__(self, player: QtPlayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        style = self.style()
        self.prev_button = self._button(
            style.standardIcon(QStyle.SP_MediaSkipBackward), "Previous track", "Previous track (Ctrl+Left)"
        )
        self.play_button = self._button(
            style.standardIcon(QStyle.SP_MediaPlay),
            "Play or pause",
            "Play / pause (Space); plays the selected track when nothing plays",
        )
        self.next_button = self._button(
            style.standardIcon(QStyle.SP_MediaSkipForward),
            "Next track",
            "Next track (Ctrl+Right): the queue, then the continuous-play mode",
        )
        self.track_label = QLabel("Click a point on the map to listen")
        self.track_label.setObjectName("trackLabel")
        self.track_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long titles never widen it
        self.track_label.setAccessibleName("Now playing")
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setAccessibleName("Position")
        self.seek = JumpSlider(Qt.Horizontal)
        self.seek.setRange(0, 1000)
        self.seek.setMinimumWidth(SEEK_MIN_WIDTH)
        self.seek.setToolTip("Seek: click or drag to jump in the track")
        self.seek.setAccessibleName("Seek")
        self.volume = QSlider(Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(70)
        self.volume.setToolTip("Volume")
        self.volume.setAccessibleName("Volume")
        self.mute_button = self._button(style.standardIcon(QStyle.SP_MediaVolume), "Mute", "Mute / unmute (M)")
        self.mute_button.setCheckable(True)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for w in (self.prev_button, self.play_button, self.next_button):
            controls.addWidget(w)
        controls.addWidget(self.seek, 1)
        controls.addWidget(self.time_label)
        controls.addSpacing(8)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.volume)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(0)
        layout.addWidget(self.track_label)
        layout.addLayout(controls)

        self._dragging = False
        self._duration = 0.0
        self.prev_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.play_button.clicked.connect(self.play_requested)
        self.mute_button.toggled.connect(self.toggle_mute)
        self.seek.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.seek.sliderReleased.connect(self._seek_released)
        self.seek.valueChanged.connect(self._seek_stepped)
        self.volume.valueChanged.connect(self._volume_moved)
        player.position_changed.connect(self._on_position)
        player.state_changed.connect(self._on_state)
        player.set_volume(self.volume.value() / 100)

    def _button(self, icon, name: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setAccessibleName(name)
        b.setAutoRaise(True)
        return b

    def set_track(self, title: str, artist: str) -> None:
        self.track_label.setText(f"<b>{title}</b>" + (f" — {artist}" if artist else ""))

    def set_volume_percent(self, value: int) -> None:
        self.volume.setValue(int(value))

    @property
    def muted(self) -> bool:
        return self.mute_button.isChecked()

    def toggle_mute(self, on: bool | None = None) -> None:
        """Silence the player without forgetting the volume; the volume slider stays where it was."""
        on = (not self.muted) if on is None else bool(on)
        if self.mute_button.isChecked() != on:
            self.mute_button.setChecked(on)  # re-enters through `toggled`
            return
        icon = QStyle.SP_MediaVolumeMuted if on else QStyle.SP_MediaVolume
        self.mute_button.setIcon(self.style().standardIcon(icon))
        self.player.set_volume(0.0 if on else self.volume.value() / 100)

    def _volume_moved(self, value: int) -> None:
        if not self.muted:
            self.player.set_volume(value / 100)
        self.volume_changed.emit(value)

    def _seek_released(self) -> None:
        self._dragging = False
        if self._duration > 0:
            self.player.seek(self.seek.value() / 1000 * self._duration)

    def _seek_stepped(self, value: int) -> None:
        """Keyboard steps and groove clicks move the slider without a drag: seek at once (position updates are
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
