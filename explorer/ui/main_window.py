"""The explorer window: wires the library cache, background indexing, analysis results and the player together.

It holds no analysis: every number it shows comes from explorer.analysis functions called with the cache's arrays.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis.errors import AnalysisError
from explorer.analysis.filtering import facet_counts
from explorer.analysis.playlists import write_m3u8
from explorer.analysis.recommend import liked_rows, recommend
from explorer.ui import map_items
from explorer.ui.details import TrackDetails
from explorer.ui.errors import show_error, show_info
from explorer.ui.filters import FilterPanel
from explorer.ui.library_controller import LibraryController, LibraryError
from explorer.ui.model_choice import ENV_MODEL, ENV_MUQ, ActiveModel, ModelChoiceError, MuQCheck, active_model, check_model
from explorer.ui.map_view import MapView
from explorer.ui.player_bar import PlayerBar
from explorer.ui.qt_player import PlayerBackend, QtPlayer
from explorer.ui.scene_builder import SceneBuilder
from explorer.ui.settings import AppSettings, SettingsDialog
from explorer.ui.status import IndexStatus
from explorer.ui.track_list import AuditionPanel, RecommendPanel

log = logging.getLogger(__name__)
N_RECOMMEND = 10


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        player: Optional[PlayerBackend] = None,
        settings: Optional[QSettings] = None,
        cache_dir: Optional[Path] = None,
        model_loader: Optional[Callable[[], tuple]] = None,
        index_workers: Optional[int] = None,
    ) -> None:
        """model_loader: () -> (model, muq) for the indexer; None = the Settings choice, QFX_MODEL / QFX_MUQ_DIR
        overriding it (see model_choice)."""
        super().__init__()
        self.setWindowTitle("QuadFusion Explorer")
        self.setAcceptDrops(True)
        self.settings = AppSettings(settings)
        self.active: ActiveModel = active_model(self.settings.model_dir(), self.settings.muq_dir())
        self._muq_check: Optional[MuQCheck] = None
        # the worker thread calls the loader: it reads `self.active`, resolved here on the GUI thread
        loader = model_loader if model_loader is not None else (lambda: self.active.loader_args())
        self.library = LibraryController(cache_dir, loader, index_workers, self)
        self.scene = None
        self.scenes = SceneBuilder(self)
        self._keep_view = False
        self._scene_arrays = None  # the arrays the drawn scene was built from (a reload may be newer)
        self.current_row: Optional[int] = None
        self._restoring = False

        if player is None:
            from explorer.playback import Player

            player = Player(device=self.settings.audio_device())
        self.player = QtPlayer(player, self)

        self.map = MapView()
        self.map.tooltip_fn = self._tooltip
        self.filters = FilterPanel()
        self.details = TrackDetails()
        self.audition = AuditionPanel()
        self.recommendations = RecommendPanel()
        self.player_bar = PlayerBar(self.player)
        self.index_status = IndexStatus()
        self.model_label = QLabel()
        self.model_label.setObjectName("modelLabel")
        self._build_layout()
        self._build_actions()

        self.filters.changed.connect(self.refresh_map)
        self.scenes.ready.connect(self._apply_scene)
        self.scenes.failed.connect(self._on_scene_failed)
        self.scenes.busy_changed.connect(self.map.set_updating)
        self.map.track_clicked.connect(lambda row: self._play_drawn(row))
        self.map.region_selected.connect(self._on_region)
        self.map.visible_changed.connect(self._on_visible_changed)
        self.details.like_requested.connect(self.set_like)
        self.audition.play_requested.connect(lambda row, secs: self.play_row(row, preview=secs))
        self.audition.stop_requested.connect(self.player.stop)
        self.audition.save_requested.connect(self.save_audition_playlist)
        self.recommendations.play_requested.connect(self.play_row)
        self.player.finished.connect(self._on_track_finished)
        self.player.failed.connect(self._on_playback_error)
        self.player_bar.next_requested.connect(self.next_track)
        self.player_bar.previous_requested.connect(self.previous_track)
        self.player_bar.volume_changed.connect(self.settings.set_volume)
        self.player_bar.set_volume_percent(self.settings.volume())
        self.index_status.cancel_requested.connect(self.cancel_indexing)
        self.library.arrays_changed.connect(self._on_arrays_changed)
        self.library.index_started.connect(self.index_status.start)
        self.library.index_progress.connect(self.index_status.update_progress)
        self.library.index_finished.connect(self.index_status.finish)
        self.library.index_cancelled.connect(lambda: self.index_status.finish("Indexing cancelled"))
        self.library.index_failed.connect(self._on_index_failed)
        self.settings.restore_window(self)
        self.map.set_message("Open a music folder (File ▸ Open folder…) or drop one on this window")

    # -- layout ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.map, 1)
        box.addWidget(self.player_bar)
        self.setCentralWidget(central)

        left = QDockWidget("Filters", self)
        left.setObjectName("filtersDock")
        left.setWidget(self.filters)
        left.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, left)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.recommendations, "Recommended for you")
        self.tabs.addTab(self.audition, "Audition")
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.details)
        split.addWidget(self.tabs)
        split.setSizes([520, 320])
        right = QDockWidget("Track", self)
        right.setObjectName("trackDock")
        right.setWidget(split)
        right.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, right)
        self.resizeDocks([left, right], [250, 360], Qt.Horizontal)
        self.statusBar().addPermanentWidget(self.index_status)
        self.statusBar().addPermanentWidget(self.model_label)
        self._show_active_model()
        self.resize(1440, 900)

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.WindowShortcut)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open folder…", lambda: self.choose_folder(), QKeySequence.Open)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Recent libraries")
        self.reindex_action = self._action("&Re-index library", lambda: self.start_indexing(), "Ctrl+R")
        file_menu.addAction(self.reindex_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.Quit))

        play_menu = bar.addMenu("&Playback")
        self.play_action = self._action("Play / pause", self.player.toggle, Qt.Key_Space)
        self.next_action = self._action("Next track", self.next_track, Qt.Key_Right)
        self.prev_action = self._action("Previous track", self.previous_track, Qt.Key_Left)
        self.like_action = self._action("Like", lambda: self.like_current(+1), Qt.Key_L)
        self.dislike_action = self._action("Dislike", lambda: self.like_current(-1), Qt.Key_D)
        for a in (self.play_action, self.next_action, self.prev_action, self.like_action, self.dislike_action):
            play_menu.addAction(a)

        view_menu = bar.addMenu("&View")
        self.select_action = self._action("Select region (drag)", self.map.set_select_mode, "S", checkable=True)
        view_menu.addAction(self.select_action)
        view_menu.addAction(self._action("Reset zoom", self.map.reset_view, "Ctrl+0"))

        settings_menu = bar.addMenu("&Settings")
        settings_menu.addAction(self._action("Audio output…", self.open_settings))
        settings_menu.addSeparator()
        self.model_action = self._action("Emotion model…", lambda: self.choose_model())
        self.builtin_model_action = self._action("Use the built-in model", self.use_builtin_model)
        self.muq_action = self._action("MuQ weights folder…", lambda: self.choose_muq_dir())
        for a in (self.model_action, self.builtin_model_action, self.muq_action):
            settings_menu.addAction(a)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About QuadFusion Explorer…", self.show_about))
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_libraries()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _=False, p=path: self.open_library(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    # -- library --------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.root) if self.root else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a music folder", start)
        if folder:
            self.open_library(Path(folder))

    # the library's state, as the rest of the window (and tests) read it
    root = property(lambda self: self.library.root)
    cache = property(lambda self: self.library.cache)
    cache_dir = property(lambda self: self.library.cache_dir)
    arrays = property(lambda self: self.library.arrays)
    worker = property(lambda self: self.library.worker)

    def open_library(self, root: Path, *, index: bool = True) -> None:
        """Open (or switch to) a library: show what the cache already knows, then index the rest."""
        try:
            self.library.open(root)
        except LibraryError as exc:
            show_error(self, "Cannot open library", str(exc))
            return
        self.current_row = None
        self.setWindowTitle(f"QuadFusion Explorer — {self.root.name}")
        self.settings.add_recent_library(str(self.root))
        self._fill_recent_menu()
        saved = self.settings.filters(str(self.root))
        self._restoring = True  # the first draw must not overwrite the saved filters with an empty selection
        try:
            self.reload_arrays(keep_view=False)
            if saved is not None:
                self.filters.set_selection(**saved)
        finally:
            self._restoring = False
        if index:
            self.start_indexing()

    def reload_arrays(self, *, keep_view: bool = True) -> None:
        try:
            self.library.reload(keep_view)
        except LibraryError as exc:
            show_error(self, "Cannot read the library cache", str(exc))

    def _on_arrays_changed(self, keep_view: bool) -> None:
        self.refresh_map(keep_view=keep_view)
        self.refresh_recommendations()

    def start_indexing(self) -> None:
        self.library.start_indexing()

    def cancel_indexing(self, wait: bool = False) -> None:
        if self.library.cancel_indexing(wait):
            self.index_status.cancelling()

    def _on_index_failed(self, message: str) -> None:
        self.index_status.finish("Indexing failed")
        show_error(self, "Indexing failed", message)

    # -- map ------------------------------------------------------------------------------------
    def refresh_map(self, keep_view: bool = False) -> None:
        """Ask for the scene of the current filters; it is built off the GUI thread for large libraries and drawn
        by _apply_scene when it is still the newest request (see scene_builder)."""
        if self.arrays is None:
            return
        arrays, filt, k = self.arrays, self.filters.current_filter(), self.filters.k()
        if not self._restoring and self.root is not None:
            self.settings.set_filters(str(self.root), self.filters.state())
        # a superseded request that wanted the view fitted (a new library) still gets it fitted
        self._keep_view = (self._keep_view and keep_view) if self.scenes.busy else keep_view

        def build(arrays=arrays, filt=filt, k=k):  # runs on the scene thread: analysis only, no Qt
            return arrays, filt, facet_counts(arrays, filt), map_items.build_scene(arrays, filt, k)

        self.scenes.request(build, len(arrays))

    def _on_scene_failed(self, _generation: int, exc: BaseException) -> None:
        if isinstance(exc, AnalysisError):
            self.statusBar().showMessage(str(exc), 8000)
            return
        log.error("building the map failed", exc_info=exc)
        show_error(self, "Cannot draw the map", f"{type(exc).__name__}: {exc}")

    def _apply_scene(self, _generation: int, result) -> None:
        arrays, filt, counts, scene = result
        keep_view = self._keep_view
        self.scene, self._scene_arrays = scene, arrays
        self.filters.set_counts(counts, list(arrays.genre_names), list(arrays.tag_names))
        self.map.show_scene(self.scene, titles=map_items.titles_for(arrays), keep_view=keep_view)
        self.filters.set_k_scores(self.scene.k_scores, self.scene.k, self.scene.k_auto)
        if not len(arrays):
            if self.library.is_indexing():
                hint = "Indexing… tracks appear here as they are analysed"
            elif self.library.no_model:
                hint = ("No emotion model is installed (resources/models/default, Settings ▸ Emotion model… or "
                        "QFX_MODEL):\nfeatures were stored; the map appears once a model is installed and the "
                        "library re-indexed")
            else:
                hint = "No analysed tracks yet: open a music folder (File ▸ Open folder…)"
            self.map.set_message(hint)
        elif self.map.point_count() == 0:
            self.map.set_message("No track matches these filters")
        else:
            self.map.set_message("")
        if keep_view:
            self._on_visible_changed(self.map.visible_box())
        if self.current_row is None and len(self.scene) and len(self.scene.representatives):
            self.select_row(int(self.scene.representatives[0]))  # a useful details panel from the start
        self._highlight_current()
        self.map.mark_likes(arrays.liked)
        self.statusBar().showMessage(map_items.scene_summary(self.scene, filt), 0)

    def _on_visible_changed(self, box) -> None:
        if self.scene is None or self._scene_arrays is None:
            return
        try:
            self.scene = map_items.relabel_axes(self.scene, self._scene_arrays, box)
        except AnalysisError as exc:
            log.debug("relabel failed: %s", exc)
            return
        self.map.set_axis_labels(self.scene)

    # -- rows of the drawn map vs rows of the newest arrays --------------------------------------
    def _to_live(self, rows) -> np.ndarray:
        """Rows of the drawn scene's arrays -> rows of the current arrays. They differ only while a reload's scene
        is still being built (rows follow track ids of analysed tracks, so they shift while indexing)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        drawn, live = self._scene_arrays, self.arrays
        if drawn is None or live is None or drawn is live:
            return rows
        if not len(live):
            return np.zeros(0, dtype=np.int64)
        ids = drawn.track_ids[rows]
        pos = np.clip(np.searchsorted(live.track_ids, ids), 0, len(live) - 1)  # track_ids are sorted
        return pos[live.track_ids[pos] == ids]

    def _to_drawn(self, row: Optional[int]) -> Optional[int]:
        drawn, live = self._scene_arrays, self.arrays
        if row is None or drawn is None or live is None or drawn is live:
            return row
        hit = np.flatnonzero(drawn.track_ids == live.track_ids[row])
        return int(hit[0]) if len(hit) else None

    def _highlight_current(self) -> None:
        self.map.highlight(self._to_drawn(self.current_row))

    def _play_drawn(self, row: int) -> None:
        live = self._to_live([row])
        if len(live):
            self.play_row(int(live[0]))

    def _tooltip(self, row: int) -> str:
        a = self._scene_arrays if self._scene_arrays is not None else self.arrays
        if a is None or row >= len(a):
            return ""
        top = np.argsort(-a.tag_scores[row])[:3]
        emotions = ", ".join(f"{a.tag_names[i]} {a.tag_scores[row, i]:.0%}" for i in top)
        title = a.titles[row] or Path(a.paths[row]).stem
        return f"{title}\n{a.artists[row] or 'Unknown artist'}\n{emotions}"

    # -- playback -------------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        """Show a track's details (and make it the target of L / D) without playing it."""
        if self.arrays is None or not 0 <= row < len(self.arrays):
            return
        self.current_row = int(row)
        self.details.show_track(self.arrays, self.current_row)
        self._highlight_current()

    def play_row(self, row: int, preview: Optional[float] = None) -> None:
        """Play a track from its analysed excerpt (what the model heard), or a short preview of it."""
        a = self.arrays
        if a is None or not 0 <= row < len(a):
            return
        if preview is None and self.audition.active:
            self.audition.stop()
        self.select_row(row)
        log.info("play %s from %.2f s%s", a.paths[row], float(a.excerpt_starts[row]),
                 f" ({preview:.0f} s preview)" if preview else "")
        self.player_bar.set_track(a.titles[row] or Path(a.paths[row]).stem, a.artists[row])
        self.player.play(a.paths[row], float(a.excerpt_starts[row]), preview)

    def _on_playback_error(self, message: str) -> None:
        """A file that won't play is skipped during an audition; otherwise the user is told why."""
        self.statusBar().showMessage(message, 8000)
        if self.audition.active:
            self.audition.preview_finished()
        else:
            show_error(self, "Cannot play this track", message)

    def _on_track_finished(self, _path: str) -> None:
        if self.audition.active:
            self.audition.preview_finished()

    def _map_order(self) -> list[int]:
        if self.map.drawn is None:
            return []
        shown = self.map.drawn.rows[self.map.drawn.shown()]
        return [int(r) for r in self._to_live(shown)]

    def next_track(self) -> None:
        if self.audition.active:
            self.audition.next()
            return
        self._step(+1)

    def previous_track(self) -> None:
        if self.audition.active:
            self.audition.previous()
            return
        self._step(-1)

    def _step(self, delta: int) -> None:
        order = self._map_order()
        if not order:
            return
        if self.current_row in order:
            i = (order.index(self.current_row) + delta) % len(order)
        else:
            i = 0
        self.play_row(order[i])

    # -- regions, playlists -----------------------------------------------------------------------
    def _on_region(self, rows) -> None:
        if self.arrays is None:
            return
        rows = [int(r) for r in self._to_live(rows)]
        self.audition.set_tracks(self.arrays, rows)
        self.tabs.setCurrentWidget(self.audition)
        if len(rows):
            self.audition.start(0)

    def save_audition_playlist(self) -> None:
        if self.arrays is None or not self.audition.rows:
            return
        start = str((self.root or Path.home()) / "selection.m3u8")
        path, _ = QFileDialog.getSaveFileName(self, "Save playlist", start, "Playlists (*.m3u8)")
        if path:
            self.write_playlist(Path(path), self.audition.rows)

    def write_playlist(self, path: Path, rows: list[int]) -> Optional[Path]:
        a = self.arrays
        try:
            out = write_m3u8(
                [a.paths[r] for r in rows], path,
                titles=[a.titles[r] or None for r in rows], durations=[float(a.durations[r]) for r in rows],
            )
        except AnalysisError as exc:
            show_error(self, "Cannot save playlist", str(exc))
            return None
        self.statusBar().showMessage(f"Saved {len(rows)} tracks to {out}", 8000)
        return out

    # -- likes and recommendations ----------------------------------------------------------------
    def like_current(self, value: int) -> None:
        if self.current_row is None or self.arrays is None:
            return
        current = int(self.arrays.liked[self.current_row])
        self.set_like(int(self.arrays.track_ids[self.current_row]), 0 if current == value else value)

    def set_like(self, track_id: int, value: int) -> None:
        try:
            row = self.library.set_like(track_id, value)
        except LibraryError as exc:
            show_error(self, "Cannot save like", str(exc))
            return
        if row is not None and row == self.current_row:
            self.details.set_like_state(value)
        if self.arrays is not None and self._scene_arrays is self.arrays:  # else the pending scene marks them
            self.map.mark_likes(self.arrays.liked)
        self.refresh_recommendations()

    def refresh_recommendations(self) -> None:
        a = self.arrays
        if a is None:
            return
        liked, disliked = liked_rows(a.liked)
        if not len(liked) and not len(disliked):
            self.recommendations.set_recommendations(a, [], [], "Like a few tracks (press L) to get recommendations")
            return
        try:
            recs = recommend(a.embeddings, liked, disliked, n=N_RECOMMEND, titles=a.titles)
        except AnalysisError as exc:
            self.recommendations.set_recommendations(a, [], [], str(exc))
            return
        note = f"From {len(liked)} liked and {len(disliked)} disliked tracks"
        self.recommendations.set_recommendations(a, [r.index for r in recs], [r.score for r in recs], note)
        for i, r in enumerate(recs):
            item = self.recommendations.table.item(i, 0)
            if item is not None:
                item.setToolTip(r.explanation)

    # -- emotion model and MuQ weights -----------------------------------------------------------
    def _show_active_model(self) -> None:
        self.model_label.setText(self.active.label())
        self.model_label.setToolTip(self.active.tooltip())

    def _model_choice_changed(self, what: str) -> None:
        """Re-resolve the active model, say so, and re-index the open library with it (model re-run only)."""
        self.active = active_model(self.settings.model_dir(), self.settings.muq_dir())
        self._show_active_model()
        if self.active.source == ENV_MODEL:
            self.statusBar().showMessage(f"{what} saved, but {ENV_MODEL} is set and overrides it", 10000)
            return
        if self.active.uses_muq and not self.active.muq_dir:
            show_info(self, "This model needs MuQ weights",
                      "The chosen emotion model reads MuQ embeddings. Choose the MuQ weights folder "
                      "(Settings ▸ MuQ weights folder…) and the library will be re-indexed with it.")
            return
        self.statusBar().showMessage(f"{what}: {self.active.label()}", 10000)
        if self.root is not None:
            self.library.reindex()

    def choose_model(self, folder: Optional[str] = None) -> bool:
        """Settings ▸ Emotion model…: a checkpoint folder, loaded once to check it before it is kept."""
        if folder is None:
            start = str(self.active.directory.parent)
            folder = QFileDialog.getExistingDirectory(self, "Choose an emotion model folder", start)
            if not folder:
                return False
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            check_model(folder)
        except ModelChoiceError as exc:
            QApplication.restoreOverrideCursor()
            show_error(self, "Not a usable emotion model",
                       f"{folder} cannot be used as an emotion model:\n\n{exc}\n\nThe current model stays active.")
            return False
        QApplication.restoreOverrideCursor()
        self.settings.set_model_dir(str(Path(folder).resolve()))
        self._model_choice_changed("Emotion model")
        return True

    def use_builtin_model(self) -> None:
        self.settings.set_model_dir(None)
        self._model_choice_changed("Emotion model")

    def choose_muq_dir(self, folder: Optional[str] = None) -> None:
        """Settings ▸ MuQ weights folder…: checked on a worker thread (loading MuQ takes seconds)."""
        if self._muq_check is not None and self._muq_check.isRunning():
            return
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Choose the MuQ weights folder",
                                                      self.active.muq_dir or str(Path.home()))
            if not folder:
                return
        self.muq_action.setEnabled(False)
        self.statusBar().showMessage(f"Checking the MuQ weights in {folder}…", 0)
        check = MuQCheck(folder, self)
        check.succeeded.connect(self._on_muq_ok)
        check.failed.connect(self._on_muq_failed)
        check.finished.connect(lambda: self.muq_action.setEnabled(True))
        self._muq_check = check
        check.start()

    def _on_muq_ok(self, folder: str) -> None:
        self.settings.set_muq_dir(str(Path(folder).resolve()))
        if os.environ.get(ENV_MUQ):
            self.active = active_model(self.settings.model_dir(), self.settings.muq_dir())
            self._show_active_model()
            self.statusBar().showMessage(f"MuQ weights saved, but {ENV_MUQ} is set and overrides them", 10000)
        elif self.active.uses_muq:
            self._model_choice_changed("MuQ weights")
        else:
            self.active = active_model(self.settings.model_dir(), self.settings.muq_dir())
            self._show_active_model()
            self.statusBar().showMessage("MuQ weights saved; the current emotion model does not use them", 10000)

    def _on_muq_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        show_error(self, "MuQ weights not usable", message)

    # -- settings, drag and drop, closing -------------------------------------------------------
    def show_about(self) -> None:
        from explorer.ui.about import show_about

        # {} rather than None when the active folder has no readable config: the card then says no model is installed
        show_about(self, self.active.meta or {}, model_location=str(self.active.directory))

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings.audio_device(), self)
        if dialog.exec():
            device = dialog.device()
            self.settings.set_audio_device(device)
            self.player.set_device(device)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_library(Path(urls[0].toLocalFile()))

    def closeEvent(self, event) -> None:
        self.settings.save_window(self)
        self.scenes.close()
        if self._muq_check is not None:
            self._muq_check.wait()
        self.library.close()
        self.player.close()
        super().closeEvent(event)
