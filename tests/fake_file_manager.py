"""A stand-in org.freedesktop.FileManager1 on the session bus: writes each ShowItems call to a file.
Run by test_ui_desktop.py on a private bus (dbus-run-session); usage: fake_file_manager.py OUT_FILE"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, Slot
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusConnection


@ClassInfo({"D-Bus Interface": "org.freedesktop.FileManager1"})
class FileManager(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, out: str) -> None:
        super().__init__(parent)
        self.out = out

    @Slot("QStringList", str)
    def ShowItems(self, uris: list[str], startup_id: str) -> None:
        with open(self.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"method": "ShowItems", "uris": list(uris)}) + "\n")


if __name__ == "__main__":
    app = QCoreApplication(sys.argv[:1])
    host = QObject()
    FileManager(host, sys.argv[1])
    bus = QDBusConnection.sessionBus()
    assert bus.registerObject("/org/freedesktop/FileManager1", host)
    assert bus.registerService("org.freedesktop.FileManager1")
    print("ready", flush=True)
    app.exec()
