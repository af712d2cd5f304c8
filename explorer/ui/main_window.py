"""The explorer window: builds the panels and controllers and wires their signals together. No decisions here:
what plays next is PlayController's, what the map shows MapController's, likes and teaching TasteController's, the
model choice ModelController's, opening and saving Browser's; the actions are declared in ui/actions.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis import display
from explorer.ui import actions as registry
from explorer.ui import desktop, keys, theme
from explorer.ui.browser import Browser
from explorer.ui.details import TrackDetails
from explorer.ui.errors import show_error, show_info
from explorer.ui.filters import FilterPanel
from explorer.ui.library_controller import LibraryController
from explorer.ui.map_controller import MapController
from explorer.ui.map_view import MapView
from explorer.ui.model_controller import ModelController
from explorer.ui.panels import LikesPanel, PanelSwitch, ProblemsPanel, QueuePanel
from explorer.ui.play_controller import PlayController
from explorer.ui.player_bar import PlayerBar
from explorer.ui.qt_player import PlayerBackend, QtPlayer
from explorer.ui.search_field import SearchController
from explorer.ui.settings import AppSettings, SettingsDialog
from explorer.ui.status import IndexStatus
from explorer.ui.taste import TasteController
from explorer.ui.track_list import AuditionPanel, RecommendPanel
from explorer.ui.track_menu import track_menu

log = logging.getLogger(__name__)
MESSAGE_MS = 6000


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        player: PlayerBackend | None = None,
        settings: QSettings | None = None,
        cache_dir: Path | None = None,
        model_loader: Callable[[], tuple] | None = None,
        index_workers: int | None = None,
    ) -> None:
        """model_loader: () -> (model, muq) for the indexer; None = the active model choice (ModelController)."""
        super().__init__()
        self.setWindowTitle("QuadFusion Explorer")
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        keys.install(QApplication.instance())  # single-key shortcuts leave keys to lists and fields that use them
        self.settings = AppSettings(settings)
        self.model_label = QLabel()
        self.model_label.setObjectName("modelLabel")
        self.library = LibraryController(cache_dir, lambda: self.models.loader_args(), index_workers, self)
        if model_loader is not None:
            self.library.model_loader = model_loader
        self.models = ModelController(self.settings, self.library, self.model_label, self)
        if player is None:
            from explorer.playback import Player

            player = Player(device=self.settings.audio_device())
        self.player = QtPlayer(player, self)

        self.map = MapView()
        self.filters = FilterPanel()
        self.details = TrackDetails()
        self.audition = AuditionPanel()
        self.recommendations = RecommendPanel()
        self.queue_panel = QueuePanel()
        self.likes_panel = LikesPanel()
        self.problems = ProblemsPanel()
        self.player_bar = PlayerBar(self.player)
        self.index_status = IndexStatus()
        self.summary = QLabel("")
        self.summary.setObjectName("summary")
        self.search_field = QLineEdit()
        self.maps = MapController(self.library, self.filters, self.map, self._empty_hint, self)
        self.playback = PlayController(self.library, self.maps, self.player, self.audition, self)
        self.taste = TasteController(self.library, self.recommendations, lambda: self.playback.current_row, self)
        self._build_layout()
        self.search = SearchController(self.search_field, self)
        self.panels = PanelSwitch(self.tabs, self.queue_panel, self.likes_panel, self.problems)
        self.actions_by_key = registry.create_actions(self)
        self.menus = registry.build_menus(self, self.actions_by_key)
        self.recent_menu = self.menus["&File"].addMenu("Recent libraries")
        self.menus["&File"].insertMenu(self.actions_by_key[registry.Act.OPEN_PLAYLIST], self.recent_menu)
        self.models.muq_action = self.muq_action = self.actions_by_key[registry.Act.MUQ]
        self.browser = Browser(self.library, self.settings, self.filters, self.recent_menu, self, self)
        self.browser.queue_rows = lambda: list(self.playback.queue.rows)
        self.browser.region_rows = lambda: list(self.audition.rows)
        self.browser.recommended_rows = lambda: list(self.recommendations.rows)
        self._connect()
        self.player_bar.set_volume_percent(self.settings.volume())
        self.queue_panel.set_mode(self.settings.play_mode())
        self.playback.set_mode(self.settings.play_mode())
        self.settings.restore_window(self)
        self.map.set_message("Open a music folder (File ▸ Open folder…) or drop one on this window")
        self.map.setFocus()
        self._save_timer = QTimer(self, interval=5000, timeout=self._remember_track)
        self._save_timer.start()
        self.mpris = None

    # -- layout ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.search_field.setPlaceholderText("Search title, artist, album or path (Ctrl+F)")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.setAccessibleName("Search tracks")
        self.search_field.setToolTip("Matches are ringed on the map and centred; Enter plays the first")
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.search_field)
        box.addWidget(self.map, 1)
        box.addWidget(self.player_bar)
        self.setCentralWidget(central)
        left = QDockWidget("Filters", self)
        left.setObjectName("filtersDock")
        left.setWidget(self.filters)
        left.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, left)
        self.tabs = QTabWidget()
        for widget, name in (
            (self.recommendations, "Recommended"),
            (self.audition, "Audition"),
            (self.queue_panel, "Queue"),
            (self.likes_panel, "Likes"),
            (self.problems, "Problems"),
        ):
            self.tabs.addTab(widget, name)
        split = QSplitter(Qt.Vertical)
        scroll = QScrollArea()
        scroll.setWidget(self.details)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        split.addWidget(scroll)
        split.addWidget(self.tabs)
        split.setSizes([560, 300])
        right = QDockWidget("Track", self)
        right.setObjectName("trackDock")
        right.setWidget(split)
        right.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, right)
        self.resizeDocks([left, right], [230, 340], Qt.Horizontal)
        self.statusBar().addWidget(self.summary, 1)  # hidden under a temporary message, back when it ends
        self.statusBar().addPermanentWidget(self.index_status)
        self.statusBar().addPermanentWidget(self.model_label)
        self.setMinimumSize(760, 520)

    def _connect(self) -> None:
        pc, maps, taste, lib = self.playback, self.maps, self.taste, self.library
        self.filters.changed.connect(self._filters_changed)
        maps.summary_changed.connect(self.summary.setText)
        maps.failed.connect(lambda title, msg: show_error(self, title, msg))
        maps.scene_drawn.connect(self._scene_drawn)
        self.map.track_clicked.connect(pc.play_drawn)
        self.map.region_selected.connect(self._on_region)
        self.map.context_requested.connect(lambda row, pos: self._track_menu(maps.to_live([row]), pos))
        self.map.arrow_pressed.connect(lambda d, scale: pc.move(d, scale))
        pc.selected.connect(self._show_selected)
        pc.now_playing.connect(self._now_playing)
        pc.queue_changed.connect(lambda: self.queue_panel.set_queue(lib.arrays, pc.queue.rows))
        pc.message.connect(self.note)
        pc.error.connect(lambda title, msg: show_error(self, title, msg))
        self.queue_panel.play_requested.connect(pc.play_row)
        self.queue_panel.remove_requested.connect(pc.remove_from_queue)
        self.queue_panel.clear_requested.connect(pc.clear_queue)
        self.queue_panel.mode_changed.connect(self._mode_changed)
        self.details.like_requested.connect(taste.set_like)
        self.details.teach_requested.connect(taste.teach)
        self.details.reveal_requested.connect(lambda p: self._desktop(desktop.reveal_in_file_manager, p))
        taste.like_changed.connect(self._like_changed)
        taste.likes_changed.connect(self._likes_changed)
        taste.message.connect(self.note)
        taste.error.connect(lambda title, msg: show_error(self, title, msg))
        self.likes_panel.play_requested.connect(pc.play_row)
        self.likes_panel.like_requested.connect(taste.set_like_row)
        self.likes_panel.undo_requested.connect(taste.undo)
        self.audition.save_requested.connect(self.browser.save_region)
        self.recommendations.play_requested.connect(pc.play_row)
        self.problems.retry_requested.connect(lib.retry_failed)
        self.player_bar.play_requested.connect(pc.toggle)
        self.player_bar.next_requested.connect(pc.next_track)
        self.player_bar.previous_requested.connect(pc.previous_track)
        self.player_bar.volume_changed.connect(self.settings.set_volume)
        self.player_bar.mute_button.toggled.connect(self.actions_by_key[registry.Act.MUTE].setChecked)
        self.index_status.cancel_requested.connect(lambda: lib.cancel_indexing() and self.index_status.cancelling())
        self.models.message.connect(lambda text: self.note(text) if text else self.statusBar().clearMessage())
        self.models.error.connect(lambda title, msg: show_error(self, title, msg))
        self.models.info.connect(lambda title, msg: show_info(self, title, msg))
        self.browser.opened.connect(self._library_opened)
        self.browser.message.connect(self.note)
        self.browser.error.connect(lambda title, msg: show_error(self, title, msg))
        self.browser.playlist_opened.connect(self._playlist_opened)
        lib.arrays_changed.connect(self._arrays_changed)
        lib.index_started.connect(self.index_status.start)
        lib.index_progress.connect(self.index_status.update_progress)
        lib.index_finished.connect(self._index_finished)
        lib.index_cancelled.connect(lambda: self.index_status.finish("Indexing cancelled"))
        lib.index_failed.connect(self._index_failed)

    # -- entry points (app, tests) --------------------------------------------------------------
    def open_library(self, root: Path, *, index: bool = True) -> bool:
        return self.browser.open_library(Path(root), index=index)

    def note(self, text: str) -> None:
        """A temporary status-bar message; the summary comes back when it ends."""
        self.statusBar().showMessage(text, MESSAGE_MS)

    # -- reactions ------------------------------------------------------------------------------
    def _empty_hint(self) -> str:
        root = self.library.root
        if root is not None and self.browser.empty:
            return f"No audio files in {root}\nOpen another folder (File ▸ Open folder…)"
        if self.library.is_indexing():
            return "Indexing… tracks appear here as they are analysed"
        if self.library.no_model:
            return (
                "No emotion model is installed (resources/models/default, Settings ▸ Emotion model… or "
                "QFX_MODEL):\nfeatures were stored; the map appears once a model is installed and the "
                "library re-indexed"
            )
        return "No analysed tracks yet: open a music folder (File ▸ Open folder…)"

    def _library_opened(self, root: Path) -> None:
        self.playback.reset()
        self.setWindowTitle(f"QuadFusion Explorer — {root.name}")

    def _filters_changed(self) -> None:
        if not self.browser.restoring and self.library.root is not None:
            self.settings.set_filters(str(self.library.root), self.filters.state())
        self.maps.refresh()

    def _arrays_changed(self, keep_view: bool) -> None:
        self.maps.refresh(keep_view=keep_view)
        self.taste.refresh_recommendations()
        self._likes_changed()
        self.problems.set_failures(self.library.failures())
        self.queue_panel.set_queue(self.library.arrays, self.playback.queue.rows)

    def _scene_drawn(self) -> None:
        pc = self.playback
        if pc.current_row is None:
            remembered = self.settings.last_track(str(self.library.root or ""))
            row = None
            if remembered is not None and self.library.arrays is not None:
                path, pos = remembered
                row = self.library.arrays.paths.index(path) if path in self.library.arrays.paths else None
                if row is not None:
                    pc.select_row(row)
                    pc.resume_at = pos
            if row is None and pc.maps.representatives():
                pc.select_row(pc.maps.representatives()[0])  # a useful details panel from the start

    def _show_selected(self, row: int) -> None:
        self.details.show_track(self.library.arrays, row)

    def _now_playing(self, row: int) -> None:
        a = self.library.arrays
        self.player_bar.set_track(display.track_title(a, row), a.artists[row])
        if self.mpris is not None:
            self.mpris.announce()

    def _mode_changed(self, mode: str) -> None:
        self.playback.set_mode(mode)
        self.settings.set_play_mode(mode)

    def _like_changed(self, row: int, value: int) -> None:
        if row == self.playback.current_row:
            self.details.set_like_state(value)
        self.maps.mark_likes()

    def _likes_changed(self) -> None:
        self.likes_panel.set_likes(self.library.arrays, bool(self.taste.undo_stack))

    def _on_region(self, rows) -> None:
        if self.library.arrays is None:
            return
        live = self.maps.to_live(rows)
        self.audition.set_tracks(self.library.arrays, live)
        self.tabs.setCurrentWidget(self.audition)
        if live:
            self.audition.start(0)

    def _playlist_opened(self, rows: list[int], missing: list[str]) -> None:
        shown = self.maps.mark_matches(rows)
        self.playback.add_to_queue(rows)
        self.panels.show_queue()
        self.note(
            f"Playlist: {len(rows)} tracks queued, {shown} on the map"
            + (f", {len(missing)} not in this library" if missing else "")
        )

    def _index_finished(self, text: str) -> None:
        failures = self.library.failures()
        self.problems.set_failures(failures)
        if "(see the log)" in text:
            text = text.replace("(see the log)", "(View ▸ Problems)")
        elif failures:  # files that failed in an earlier run still count, though this run left them alone
            text += f" — {len(failures)} could not be read (View ▸ Problems)"
        self.index_status.finish(text)

    def _index_failed(self, message: str) -> None:
        self.index_status.finish("Indexing failed")
        show_error(self, "Indexing failed", message)

    def _track_menu(self, live: list[int], pos) -> None:
        if live:
            track_menu(self, self, live[0], lambda t, m: show_error(self, t, m)).popup(pos)

    def _desktop(self, fn, path: str) -> None:
        try:
            fn(path)
        except desktop.DesktopError as exc:
            show_error(self, "Cannot show the file", str(exc))

    def _remember_track(self) -> None:
        last = self.playback.last_track()
        if last is not None and self.library.root is not None:
            self.settings.set_last_track(str(self.library.root), *last)

    # -- dialogs, drag and drop, closing --------------------------------------------------------
    def show_about(self) -> None:
        from explorer.ui.about import show_about

        show_about(self, self.models.active.meta or {}, model_location=str(self.models.active.directory))

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings.audio_device(), self.settings.theme(), self)
        if dialog.exec():
            self.settings.set_audio_device(dialog.device())
            self.player.set_device(dialog.device())
            self.settings.set_theme(dialog.theme())
            theme.apply_choice(dialog.theme())

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()  # a file is refused on drop, with the reason

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if not urls or not urls[0].isLocalFile():
            return
        path = Path(urls[0].toLocalFile())
        if path.is_dir():
            self.open_library(path)
        elif path.suffix.lower() in (".m3u8", ".m3u"):
            self.browser.open_playlist(path)
        else:
            show_info(
                self,
                "Drop a folder",
                f"{path.name} is a file. Drop the folder that holds your music (or an "
                "M3U8 playlist) to open it; single files are not a library.",
            )

    def closeEvent(self, event) -> None:
        self._remember_track()
        self.settings.save_window(self)
        self.maps.close()
        if self.mpris is not None:
            self.mpris.unregister()
        self.library.close()
        self.player.close()
        super().closeEvent(event)
