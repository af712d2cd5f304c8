"""Persistent settings (QSettings): recent libraries, window layout, volume, audio device, filters per library,
the chosen emotion model and MuQ weights folders."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QMainWindow, QWidget

from explorer.playback import list_output_devices

ORGANISATION = "QuadFusion"
APPLICATION = "Explorer"
MAX_RECENT = 8
SYSTEM_DEFAULT = "System default"
THEMES = {"system": "Follow the system", "dark": "Dark", "light": "Light"}


class AppSettings:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.q = settings if settings is not None else QSettings(ORGANISATION, APPLICATION)

    def recent_libraries(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_library(self, path: str) -> None:
        recent = [p for p in self.recent_libraries() if p != path]
        self.q.setValue("recent", [path, *recent][:MAX_RECENT])
        self.q.setValue("library", path)

    def last_library(self) -> str | None:
        value = self.q.value("library")
        return str(value) if value else None

    def audio_device(self) -> str | None:
        value = self.q.value("audio/device")
        return str(value) if value else None

    def set_audio_device(self, device: str | None) -> None:
        self.q.setValue("audio/device", device or "")

    def volume(self) -> int:
        try:
            return int(self.q.value("audio/volume", 80))
        except (TypeError, ValueError):
            return 80

    def set_volume(self, value: int) -> None:
        self.q.setValue("audio/volume", int(value))

    def model_dir(self) -> str | None:
        """The emotion model folder the user chose (None: the built-in model)."""
        value = self.q.value("model/dir")
        return str(value) if value else None

    def set_model_dir(self, path: str | None) -> None:
        self.q.setValue("model/dir", path or "")

    def muq_dir(self) -> str | None:
        value = self.q.value("model/muq_dir")
        return str(value) if value else None

    def set_muq_dir(self, path: str | None) -> None:
        self.q.setValue("model/muq_dir", path or "")

    def filters(self, library: str) -> dict | None:
        raw = self.q.value(f"filters/{_key(library)}")
        if not raw:
            return None
        try:
            state = json.loads(str(raw))
            return {
                "genres": list(state.get("genres", [])),
                "emotions": list(state.get("emotions", [])),
                "quadrants": list(state.get("quadrants", [])),
                "k": state.get("k"),
            }
        except (ValueError, AttributeError):
            return None

    def set_filters(self, library: str, state: dict) -> None:
        self.q.setValue(f"filters/{_key(library)}", json.dumps(state))

    def play_mode(self) -> str:
        return str(self.q.value("playback/mode", "drift") or "drift")

    def set_play_mode(self, mode: str) -> None:
        self.q.setValue("playback/mode", str(mode))

    def last_track(self, library: str) -> tuple[str, float] | None:
        """(path, seconds) of the track selected when the library was last closed."""
        raw = self.q.value(f"last_track/{_key(library)}")
        if not raw:
            return None
        try:
            state = json.loads(str(raw))
            return str(state["path"]), float(state["position"])
        except (ValueError, KeyError, TypeError):
            return None

    def set_last_track(self, library: str, path: str, position: float) -> None:
        self.q.setValue(f"last_track/{_key(library)}", json.dumps({"path": path, "position": float(position)}))

    def theme(self) -> str:
        value = str(self.q.value("appearance/theme", "system") or "system")
        return value if value in THEMES else "system"

    def set_theme(self, value: str) -> None:
        self.q.setValue("appearance/theme", value)

    def save_window(self, window: QMainWindow) -> None:
        self.q.setValue("window/geometry", window.saveGeometry())
        self.q.setValue("window/state", window.saveState())
        self.q.sync()

    def restore_window(self, window: QMainWindow) -> None:
        geometry = self.q.value("window/geometry")
        state = self.q.value("window/state")
        if geometry is None or not window.restoreGeometry(geometry):
            fit_to_screen(window)
        if state is not None:
            window.restoreState(state)
        fit_to_screen(window, only_if_larger=True)


def fit_to_screen(window: QWidget, share: float = 0.85, only_if_larger: bool = False) -> None:
    """First launch: 85 % of the screen's free area (logical pixels, so 2x scaling stays on screen), centred;
    later launches are only shrunk when the saved size no longer fits (a smaller screen)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    free = screen.availableGeometry()
    if only_if_larger and window.width() <= free.width() and window.height() <= free.height():
        return
    w = max(min(int(free.width() * share), 1600), min(window.minimumWidth(), free.width()))
    h = max(min(int(free.height() * share), 1000), min(window.minimumHeight(), free.height()))
    w, h = min(w, free.width()), min(h, free.height())
    window.resize(w, h)
    window.move(free.x() + (free.width() - w) // 2, free.y() + (free.height() - h) // 2)


def _key(library: str) -> str:
    """QSettings keys can't hold slashes meaningfully: hash-free, readable escaping."""
    return library.replace("\\", "_").replace("/", "_").replace(":", "_")


class SettingsDialog(QDialog):
    """Audio output device (names as PortAudio reports them) and the theme."""

    def __init__(self, current: str | None, theme: str = "system", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.combo = QComboBox()
        self.combo.addItem(SYSTEM_DEFAULT)
        self.combo.addItems(list_output_devices())
        if current:
            i = self.combo.findText(current)
            if i < 0:
                self.combo.addItem(current)
                i = self.combo.count() - 1
            self.combo.setCurrentIndex(i)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.combo.setAccessibleName("Audio output")
        self.combo.setToolTip("The sound card or output the player uses")
        self.theme_combo = QComboBox()
        for key, label in THEMES.items():
            self.theme_combo.addItem(label, key)
        self.theme_combo.setCurrentIndex(max(self.theme_combo.findData(theme), 0))
        self.theme_combo.setAccessibleName("Theme")
        self.theme_combo.setToolTip("Follow the desktop's light or dark setting, or pick one")
        form = QFormLayout(self)
        form.addRow("Audio output", self.combo)
        form.addRow("Theme", self.theme_combo)
        form.addRow(buttons)

    def device(self) -> str | None:
        text = self.combo.currentText()
        return None if text == SYSTEM_DEFAULT else text

    def theme(self) -> str:
        return str(self.theme_combo.currentData())
