"""Opening libraries and playlists, saving playlists: the File menu's work, with the dialogs it needs."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from explorer.analysis import display
from explorer.analysis.errors import AnalysisError
from explorer.analysis.playlists import read_m3u8, write_m3u8
from explorer.analysis.search import rows_of_paths
from explorer.library.scanner import scan_audio_files
from explorer.ui.filters import FilterPanel
from explorer.ui.library_controller import LibraryController, LibraryError
from explorer.ui.settings import AppSettings

log = logging.getLogger(__name__)


def has_audio(folder: Path) -> bool:
    """True when `folder` holds at least one audio file (stops at the first)."""
    try:
        return next(iter(scan_audio_files(folder)), None) is not None
    except OSError:
        return False


class Browser(QObject):
    opened = Signal(Path)  # a library was opened (the window resets its state)
    playlist_opened = Signal(list, list)  # rows, missing paths
    message = Signal(str)
    error = Signal(str, str)

    def __init__(
        self,
        library: LibraryController,
        settings: AppSettings,
        filters: FilterPanel,
        recent_menu: QMenu,
        window: QWidget,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library, self.settings, self.filters, self.recent_menu = library, settings, filters, recent_menu
        self.window = window
        self.empty = False  # the open folder holds no audio file
        self.restoring = False  # the first draw of a library must not overwrite its saved filters
        self.queue_rows = lambda: []  # set by the window: the rows each "Save … as playlist" writes
        self.region_rows = lambda: []
        self.recommended_rows = lambda: []
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_libraries()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _=False, p=path: self.open_library(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    def choose_folder(self) -> None:
        start = str(self.library.root) if self.library.root else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.window, "Choose a music folder", start)
        if folder:
            self.open_library(Path(folder))

    def open_library(self, root: Path, *, index: bool = True) -> bool:
        """Open (or switch to) a library: show what the cache already knows, then index the rest. A folder without
        audio files is opened (so the map says so) but never remembered as the library to reopen."""
        try:
            self.library.open(root)
        except LibraryError as exc:
            self.error.emit("Cannot open library", str(exc))
            return False
        empty = self.empty = not has_audio(self.library.root)
        if not empty:
            self.settings.add_recent_library(str(self.library.root))
            self.fill_recent_menu()
        self.opened.emit(self.library.root)
        saved = self.settings.filters(str(self.library.root))
        self.restoring = True
        try:
            self.reload()
            if saved is not None:
                self.filters.set_selection(**saved)
        finally:
            self.restoring = False
        if empty:
            self.message.emit(f"{self.library.root} holds no audio files")
        elif index:
            self.library.start_indexing()
        return True

    def reload(self, keep_view: bool = False) -> None:
        try:
            self.library.reload(keep_view)
        except LibraryError as exc:
            self.error.emit("Cannot read the library cache", str(exc))

    # -- playlists ------------------------------------------------------------------------------
    def _ask_save(self, rows: list[int], name: str) -> Path | None:
        if self.library.arrays is None or not rows:
            self.message.emit("Nothing to save: the list is empty")
            return None
        start = str((self.library.root or Path.home()) / name)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save playlist", start, "Playlists (*.m3u8)")
        return self.write_playlist(Path(path), rows) if path else None

    def save_queue(self) -> None:
        self._ask_save(self.queue_rows(), "queue.m3u8")

    def save_region(self) -> None:
        self._ask_save(self.region_rows(), "selection.m3u8")

    def save_recommendations(self) -> None:
        self._ask_save(self.recommended_rows(), "recommended.m3u8")

    def write_playlist(self, path: Path, rows: list[int]) -> Path | None:
        a = self.library.arrays
        try:
            out = write_m3u8(
                [a.paths[r] for r in rows],
                path,
                titles=[display.track_title(a, r) for r in rows],
                durations=[float(a.durations[r]) for r in rows],
            )
        except AnalysisError as exc:
            self.error.emit("Cannot save playlist", str(exc))
            return None
        self.message.emit(f"Saved {len(rows)} tracks to {out}")
        return out

    def choose_playlist(self) -> None:
        start = str(self.library.root or Path.home())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open playlist", start, "Playlists (*.m3u8 *.m3u)")
        if path:
            self.open_playlist(Path(path))

    def open_playlist(self, path: Path) -> list[int]:
        """Rows of the playlist's tracks in this library (highlighted and queued by the window)."""
        if self.library.arrays is None:
            self.error.emit("Cannot open playlist", "Open a music folder first.")
            return []
        try:
            entries = read_m3u8(path)
        except AnalysisError as exc:
            self.error.emit("Cannot open playlist", str(exc))
            return []
        rows, missing = rows_of_paths(self.library.arrays, [str(e.path) for e in entries])
        self.playlist_opened.emit(rows, missing)
        return rows
