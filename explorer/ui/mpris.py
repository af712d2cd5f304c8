"""MPRIS2 over D-Bus (QtDBus): desktop media controls, media keys handled by the desktop, and "now playing"
widgets see and drive the explorer. Service org.mpris.MediaPlayer2.quadfusion, object /org/mpris/MediaPlayer2.

The adaptors only translate: every call goes to the window's PlayController, every property reads it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import ClassInfo, Property, QObject, QUrl, Slot
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusConnection, QDBusMessage, QDBusObjectPath

log = logging.getLogger(__name__)
SERVICE = "org.mpris.MediaPlayer2.quadfusion"
OBJECT = "/org/mpris/MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"


@ClassInfo({"D-Bus Interface": "org.mpris.MediaPlayer2"})
class _Root(QDBusAbstractAdaptor):
    def __init__(self, host: MprisHost) -> None:
        super().__init__(host)
        self.host = host

    @Slot()
    def Raise(self) -> None:
        self.host.window.raise_()
        self.host.window.activateWindow()

    @Slot()
    def Quit(self) -> None:
        self.host.window.close()

    CanQuit = Property(bool, lambda self: True)
    CanRaise = Property(bool, lambda self: True)
    HasTrackList = Property(bool, lambda self: False)
    Identity = Property(str, lambda self: "QuadFusion Explorer")
    DesktopEntry = Property(str, lambda self: "quadfusion-explorer")
    SupportedUriSchemes = Property("QStringList", lambda self: ["file"])
    SupportedMimeTypes = Property("QStringList", lambda self: ["audio/mpeg", "audio/ogg", "audio/flac", "audio/mp4"])


@ClassInfo({"D-Bus Interface": PLAYER_IFACE})
class _Player(QDBusAbstractAdaptor):
    def __init__(self, host: MprisHost) -> None:
        super().__init__(host)
        self.host = host

    @property
    def _pc(self):
        return self.host.playback

    @Slot()
    def PlayPause(self) -> None:
        self._pc.toggle()

    @Slot()
    def Play(self) -> None:
        if not self._pc.player.backend.path or self._pc.player.backend.is_paused:
            self._pc.toggle()

    @Slot()
    def Pause(self) -> None:
        b = self._pc.player.backend
        if b.path and not b.is_paused:
            self._pc.toggle()

    @Slot()
    def Stop(self) -> None:
        self._pc.player.stop()

    @Slot()
    def Next(self) -> None:
        self._pc.next_track()

    @Slot()
    def Previous(self) -> None:
        self._pc.previous_track()

    @Slot("qlonglong")
    def Seek(self, offset_us: int) -> None:
        b = self._pc.player.backend
        if b.path:
            self._pc.player.seek(float(b.position) + offset_us / 1e6)

    def _status(self) -> str:
        b = self._pc.player.backend
        return "Stopped" if not b.path else "Paused" if b.is_paused else "Playing"

    def _metadata(self) -> dict[str, Any]:
        return self.host.metadata()

    def _position(self) -> int:
        return int(float(self._pc.player.backend.position) * 1e6)

    PlaybackStatus = Property(str, _status)
    Metadata = Property("QVariantMap", _metadata)
    Position = Property("qlonglong", _position)
    Volume = Property(float, lambda self: float(self._pc.player.backend.volume))
    Rate = Property(float, lambda self: 1.0)
    MinimumRate = Property(float, lambda self: 1.0)
    MaximumRate = Property(float, lambda self: 1.0)
    CanGoNext = Property(bool, lambda self: True)
    CanGoPrevious = Property(bool, lambda self: True)
    CanPlay = Property(bool, lambda self: True)
    CanPause = Property(bool, lambda self: True)
    CanSeek = Property(bool, lambda self: True)
    CanControl = Property(bool, lambda self: True)


class MprisHost(QObject):
    """Owns the two adaptors; `announce()` tells listeners the status or track changed."""

    def __init__(self, window, playback) -> None:
        super().__init__(window)
        self.window, self.playback = window, playback
        self.root = _Root(self)
        self.player = _Player(self)
        self.registered = False

    def register(self, service: str = SERVICE) -> bool:
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            log.info("no D-Bus session bus: media controls are off")
            return False
        name = service if bus.registerService(service) else f"{service}.instance{os.getpid()}"
        if name != service and not bus.registerService(name):
            log.warning("could not register %s on the session bus", service)
            return False
        self.registered = bus.registerObject(OBJECT, self)
        self.service = name
        return self.registered

    def metadata(self) -> dict[str, Any]:
        a, row = self.playback.arrays, self.playback.playing_row
        if a is None or row is None or row >= len(a):
            return {"mpris:trackid": QDBusObjectPath("/org/mpris/MediaPlayer2/TrackList/NoTrack")}
        from explorer.analysis.display import track_title

        meta: dict[str, Any] = {
            "mpris:trackid": QDBusObjectPath(f"/org/quadfusion/track/{int(a.track_ids[row])}"),
            "mpris:length": int(float(a.durations[row]) * 1e6),
            "xesam:title": track_title(a, row),
            "xesam:url": QUrl.fromLocalFile(str(Path(a.paths[row]))).toString(QUrl.FullyEncoded),
        }
        if a.artists[row]:
            meta["xesam:artist"] = [a.artists[row]]
        if a.albums[row]:
            meta["xesam:album"] = a.albums[row]
        return meta

    def announce(self) -> None:
        if not self.registered:
            return
        msg = QDBusMessage.createSignal(OBJECT, "org.freedesktop.DBus.Properties", "PropertiesChanged")
        msg.setArguments([PLAYER_IFACE, {"PlaybackStatus": self.player._status(), "Metadata": self.metadata()}, []])
        QDBusConnection.sessionBus().send(msg)

    def unregister(self) -> None:
        if self.registered:
            bus = QDBusConnection.sessionBus()
            bus.unregisterObject(OBJECT)
            bus.unregisterService(getattr(self, "service", SERVICE))
            self.registered = False
