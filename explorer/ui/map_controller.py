"""The map's side of the window: asks for scenes of the current filters, draws the newest one, and answers
"which tracks are on the map" in rows of the newest arrays (the drawn scene may be a reload older)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.analysis import display
from explorer.analysis.errors import AnalysisError
from explorer.analysis.filtering import facet_counts
from explorer.analysis.navigation import Points
from explorer.analysis.rows import translate_row, translate_rows
from explorer.ui import map_items
from explorer.ui.filters import FilterPanel
from explorer.ui.library_controller import LibraryController
from explorer.ui.map_view import MapView
from explorer.ui.scene_builder import SceneBuilder

log = logging.getLogger(__name__)


class MapController(QObject):
    scene_drawn = Signal()  # a new scene is on the map
    summary_changed = Signal(str)  # "N tracks · filter · K"
    failed = Signal(str, str)  # title, message for a dialog

    def __init__(
        self,
        library: LibraryController,
        filters: FilterPanel,
        view: MapView,
        empty_hint: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library, self.filters, self.view = library, filters, view
        self.empty_hint = empty_hint
        self.scenes = SceneBuilder(self)
        self.scene = None
        self.drawn_arrays = None  # the arrays the drawn scene was built from
        self._keep_view = False
        self.highlighted: int | None = None  # live row ringed on the map
        view.tooltip_fn = self.tooltip
        self.scenes.ready.connect(self._apply)
        self.scenes.failed.connect(self._on_failed)
        self.scenes.busy_changed.connect(view.set_updating)
        view.visible_changed.connect(self._on_visible_changed)

    # -- scenes ---------------------------------------------------------------------------------
    def refresh(self, keep_view: bool = False) -> None:
        """Ask for the scene of the current filters; built off the GUI thread for large libraries, drawn when it is
        still the newest request."""
        arrays = self.library.arrays
        if arrays is None:
            return
        filt, k = self.filters.current_filter(), self.filters.k()
        # a superseded request that wanted the view fitted (a new library) still gets it fitted
        self._keep_view = (self._keep_view and keep_view) if self.scenes.busy else keep_view

        def build(arrays=arrays, filt=filt, k=k):  # a pool thread: analysis only, no Qt
            return arrays, filt, facet_counts(arrays, filt), map_items.build_scene(arrays, filt, k)

        self.scenes.request(build, len(arrays))

    def _on_failed(self, _generation: int, exc: BaseException) -> None:
        if isinstance(exc, AnalysisError):
            self.summary_changed.emit(str(exc))
            return
        log.error("building the map failed", exc_info=exc)
        self.failed.emit("Cannot draw the map", f"{type(exc).__name__}: {exc}")

    def _apply(self, _generation: int, result) -> None:
        arrays, filt, counts, scene = result
        keep_view = self._keep_view
        self.scene, self.drawn_arrays = scene, arrays
        self.filters.set_counts(counts, list(arrays.genre_names), list(arrays.tag_names))
        self.view.show_scene(scene, titles=display.track_titles(arrays), keep_view=keep_view)
        self.filters.set_k_scores(scene.k_scores, scene.k, scene.k_auto)
        if not len(arrays):
            self.view.set_message(self.empty_hint())
        elif self.view.point_count() == 0:
            self.view.set_message("No track matches these filters")
        else:
            self.view.set_message("")
        if keep_view:
            self._on_visible_changed(self.view.visible_box())
        self.highlight(self.highlighted)
        self.view.mark_likes(arrays.liked)
        self.summary_changed.emit(display.scene_summary(scene, filt))
        self.scene_drawn.emit()

    def _on_visible_changed(self, box) -> None:
        if self.scene is None or self.drawn_arrays is None:
            return
        try:
            self.scene = map_items.relabel_axes(self.scene, self.drawn_arrays, box)
        except AnalysisError as exc:
            log.debug("relabel failed: %s", exc)
            return
        self.view.set_axis_labels(self.scene)

    # -- rows -----------------------------------------------------------------------------------
    def to_live(self, rows: Sequence[int] | np.ndarray) -> list[int]:
        """Rows of the drawn scene -> rows of the newest arrays."""
        return [int(r) for r in translate_rows(rows, self.drawn_arrays, self.library.arrays)]

    def to_drawn(self, row: int | None) -> int | None:
        return translate_row(row, self.library.arrays, self.drawn_arrays)

    def points(self) -> Points:
        """The points shown now (hidden subcategories left out), in rows of the newest arrays."""
        drawn = self.view.drawn
        if drawn is None:
            return Points(np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0, np.int64))
        shown = drawn.shown()
        rows = np.asarray(translate_rows(drawn.rows[shown], self.drawn_arrays, self.library.arrays))
        if len(rows) != int(shown.sum()):  # a track left the library since the scene was drawn
            keep = np.isin(drawn.rows[shown], translate_rows(rows, self.library.arrays, self.drawn_arrays))
            return Points(rows, drawn.coords[shown][keep], drawn.clusters[shown][keep])
        return Points(rows, drawn.coords[shown], drawn.clusters[shown])

    def order(self) -> list[int]:
        return [int(r) for r in self.points().rows]

    def representatives(self) -> list[int]:
        if self.scene is None:
            return []
        return self.to_live(self.scene.representatives)

    def highlight(self, row: int | None) -> None:
        self.highlighted = row
        self.view.highlight(self.to_drawn(row))

    def mark_likes(self) -> None:
        arrays = self.library.arrays
        if arrays is not None and self.drawn_arrays is arrays:  # else the pending scene marks them
            self.view.mark_likes(arrays.liked)

    def mark_matches(self, rows: Sequence[int], centre: bool = True) -> int:
        """Highlight live `rows` (search results, an opened playlist); returns how many are on the map."""
        drawn = [r for r in (self.to_drawn(int(r)) for r in rows) if r is not None]
        return self.view.mark_matches(drawn, centre=centre)

    def tooltip(self, row: int) -> str:
        a = self.drawn_arrays if self.drawn_arrays is not None else self.library.arrays
        if a is None or row >= len(a):
            return ""
        top = np.argsort(-a.tag_scores[row])[:3]
        emotions = ", ".join(f"{a.tag_names[i]} {a.tag_scores[row, i]:.0%}" for i in top)
        return f"{display.track_title(a, row)}\n{a.artists[row] or 'Unknown artist'}\n{emotions}"

    def close(self) -> None:
        self.scenes.close()
