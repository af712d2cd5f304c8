"""Persistent settings (QSettings): recent libraries, window layout, volume, audio device, filters per library,
the chosen emotion model and MuQ weights folders."""

from __future__ import annotations

import json
from typing import Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QMainWindow, QWidget

from explorer.playback import list_output_devices

ORGANISATION = "QuadFusion"
APPLICATION = "Explorer"
MAX_RECENT = 8
SYSTEM_DEFAULT = "System default"


class AppSettings:
    def __init__(self, settings: Optional[QSettings] = None) -> None:
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

    def last_library(self) -> Optional[str]:
        value = self.q.value("library")
        return str(value) if value else None

    def audio_device(self) -> Optional[str]:
        value = self.q.value("audio/device")
        return str(value) if value else None

    def set_audio_device(self, device: Optional[str]) -> None:
        self.q.setValue("audio/device", device or "")

    def volume(self) -> int:
        try:
            return int(self.q.value("audio/volume", 80))
        except (TypeError, ValueError):
            return 80

    def set_volume(self, value: int) -> None:
        self.q.setValue("audio/volume", int(value))

    def model_dir(self) -> Optional[str]:
        """The emotion model folder the user chose (None: the built-in model)."""
        value = self.q.value("model/dir")
        return str(value) if value else None

    def set_model_dir(self, path: Optional[str]) -> None:
        self.q.setValue("model/dir", path or "")

    def muq_dir(self) -> Optional[str]:
        value = self.q.value("model/muq_dir")
        return str(value) if value else None

    def set_muq_dir(self, path: Optional[str]) -> None:
        self.q.setValue("model/muq_dir", path or "")

    def filters(self, library: str) -> Optional[dict]:
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

    def save_window(self, window: QMainWindow) -> None:
        self.q.setValue("window/geometry", window.saveGeometry())
        self.q.setValue("window/state", window.saveState())
        self.q.sync()

    def restore_window(self, window: QMainWindow) -> None:
        geometry = self.q.value("window/geometry")
        state = self.q.value("window/state")
        if geometry is not None:
            window.restoreGeometry(geometry)
        if state is not None:
            window.restoreState(state)


def _key(library: str) -> str:
    """QSettings keys can't hold slashes meaningfully: hash-free, readable escaping."""
    return library.replace("\\", "_").replace("/", "_").replace(":", "_")


class SettingsDialog(QDialog):
    """Audio output device choice (names as PortAudio reports them)."""

    def __init__(self, current: Optional[str], parent: Optional[QWidget] = None) -> None:
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
        form = QFormLayout(self)
        form.addRow("Audio output", self.combo)
        form.addRow(buttons)

    def device(self) -> Optional[str]:
        text = self.combo.currentText()
        return None if text == SYSTEM_DEFAULT else text
