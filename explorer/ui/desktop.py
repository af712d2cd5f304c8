"""The desktop around the app: show a file in the file manager (selected), open it in the default player, copy
its path. Each returns nothing on success and raises DesktopError with a message for the user otherwise."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

FILE_MANAGER = ("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1")


class DesktopError(Exception):
    """The desktop could not do it; the message says why and what to do instead."""


def reveal_in_file_manager(path: str | Path) -> None:
    """Open the file's folder with the file selected, through the freedesktop FileManager1 D-Bus service
    (Nautilus, Dolphin, Nemo, Thunar, Caja, PCManFM-Qt answer it)."""
    from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

    path = Path(path)
    if not path.exists():
        raise DesktopError(f"{path} no longer exists.")
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        raise DesktopError(f"No desktop session bus is available to show the file.\n\nIt is in: {path.parent}")
    service, obj, iface = FILE_MANAGER
    registered = bus.interface().isServiceRegistered(service)
    activatable = service in (bus.interface().activatableServiceNames().value() or [])
    if not registered.value() and not activatable:
        raise DesktopError(
            "No file manager that can show a selected file is installed "
            f"(none offers {service} on the session bus).\n\nThe file is in: {path.parent}"
        )
    reply = QDBusInterface(service, obj, iface, bus).call(
        "ShowItems", [QUrl.fromLocalFile(str(path)).toString(QUrl.FullyEncoded)], ""
    )
    if reply.type() == QDBusMessage.ErrorMessage:
        raise DesktopError(
            f"The file manager refused to show the file: {reply.errorMessage()}\n\nThe file is in: {path.parent}"
        )


def open_in_default_player(path: str | Path) -> None:
    if not Path(path).exists():
        raise DesktopError(f"{path} no longer exists.")
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        raise DesktopError(f"No application is registered to open {Path(path).suffix or 'this'} files.")


def copy_path(path: str | Path) -> None:
    QGuiApplication.clipboard().setText(str(path))
