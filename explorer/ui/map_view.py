"""The interactive map: pan/zoom, hover tooltips, click-to-play, drag-select a region, axis labels that follow
the visible box. Drawing itself lives in map_items (shared with the offscreen `qfx map` renderer)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QLabel

from explorer.ui import density_layer, map_items, theme

VIEW_DEBOUNCE_MS = 300


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(n,) bool: even-odd ray casting, vectorised over the points (the lasso has far fewer vertices)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=float).reshape(-1, 2)
    inside = np.zeros(len(xy), dtype=bool)
    if len(poly) < 3:
        return inside
    x, y = xy[:, 0], xy[:, 1]
    px, py = poly[:, 0], poly[:, 1]
    j = len(poly) - 1
    for i in range(len(poly)):
        dy = py[j] - py[i]
        crosses = (py[i] > y) != (py[j] > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (px[j] - px[i]) * (y - py[i]) / np.where(dy == 0, np.inf, dy) + px[i]
        inside ^= crosses & (x < x_at)
        j = i
    return inside


class _SelectViewBox(pg.ViewBox):
    """A ViewBox whose left-drag selects: a rectangle with Shift (or in selection mode), a lasso with Ctrl."""

    region_dragged = Signal(float, float, float, float)  # x0, x1, y0, y1 in map coordinates
    lasso_dragged = Signal(object)  # (m, 2) polygon in map coordinates

    def __init__(self) -> None:
        super().__init__()
        self.select_mode = False
        self._band: QGraphicsRectItem | None = None
        self._lasso: QGraphicsPathItem | None = None
        self._lasso_points: list[QPointF] = []

    def _add_overlay(self, item):
        """Style a selection shape (accent outline, translucent fill, above every point) and add it to the view."""
        item.setPen(QPen(QColor(theme.ACCENT), 0))
        fill = QColor(theme.ACCENT)
        fill.setAlpha(45)
        item.setBrush(fill)
        item.setZValue(1e9)
        self.addItem(item, ignoreBounds=True)
        return item

    def _lasso_item(self) -> QGraphicsPathItem:
        if self._lasso is None:
            self._lasso = self._add_overlay(QGraphicsPathItem())
        return self._lasso

    def _lasso_drag(self, ev) -> None:
        ev.accept()
        if ev.isStart():
            self._lasso_points = [self.mapToView(ev.buttonDownPos())]
        self._lasso_points.append(self.mapToView(ev.pos()))
        item = self._lasso_item()
        if ev.isFinish():
            item.hide()
            poly = np.array([[p.x(), p.y()] for p in self._lasso_points], dtype=float)
            self._lasso_points = []
            self.lasso_dragged.emit(poly)
            return
        path = QPainterPath(self._lasso_points[0])
        for p in self._lasso_points[1:]:
            path.lineTo(p)
        path.closeSubpath()
        item.setPath(path)
        item.show()

    def _band_item(self) -> QGraphicsRectItem:
        if self._band is None:
            self._band = self._add_overlay(QGraphicsRectItem(0, 0, 1, 1))
        return self._band

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.LeftButton and bool(ev.modifiers() & Qt.ControlModifier):
            self._lasso_drag(ev)
            return
        selecting = ev.button() == Qt.LeftButton and (self.select_mode or bool(ev.modifiers() & Qt.ShiftModifier))
        if not selecting:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        a = self.mapToView(ev.buttonDownPos())
        b = self.mapToView(ev.pos())
        rect = QRectF(a, b).normalized()
        band = self._band_item()
        if ev.isFinish():
            band.hide()
            self.region_dragged.emit(rect.left(), rect.right(), rect.top(), rect.bottom())
        else:
            band.setRect(rect)
            band.show()


ARROWS = {Qt.Key_Left: "left", Qt.Key_Right: "right", Qt.Key_Up: "up", Qt.Key_Down: "down"}


class MapView(pg.PlotWidget):
    track_clicked = Signal(int)  # arrays row
    context_requested = Signal(int, object)  # arrays row, global QPoint: right-click on a point
    arrow_pressed = Signal(str, object)  # 'left'..'down', (x, y) pixels per map unit
    region_selected = Signal(object)  # np.ndarray of arrays rows inside the dragged box
    visible_changed = Signal(object)  # (x_min, x_max, y_min, y_max) after the user zoomed/panned

    def __init__(self, parent=None) -> None:
        self.viewbox = _SelectViewBox()
        super().__init__(parent=parent, viewBox=self.viewbox)
        self.setMenuEnabled(False)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAccessibleName("Music map")
        self.setToolTip("")
        self.setAccessibleDescription(
            "Each point is a track. Arrow keys move the selection to the nearest point in "
            "that direction, Return plays it, the menu key opens its menu."
        )
        self.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.drawn: map_items.DrawnScene | None = None
        self.tooltip_fn = None  # row -> str, set by the window (titles, artists, top emotions)
        self._programmatic = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VIEW_DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit_visible)
        self.user_zoomed = False  # refreshes keep the view only once the user has zoomed or panned
        self.viewbox.sigRangeChangedManually.connect(self._on_manual_range)
        self.viewbox.region_dragged.connect(self._on_region)
        self.viewbox.lasso_dragged.connect(self._on_lasso)
        self._empty_text = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self._empty_text.setZValue(10)
        # a quiet corner note while a new scene is built off the GUI thread; the old map stays usable meanwhile
        self.updating_label = QLabel("updating…", self)
        self.updating_label.setObjectName("mapUpdating")
        self.updating_label.setStyleSheet(f"color: {theme.MUTED}; background: transparent; padding: 4px 10px;")
        self.updating_label.hide()
        self.matches: map_items.Overlay | None = None
        self._label_timer = QTimer(self)
        self._label_timer.setSingleShot(True)
        self._label_timer.setInterval(60)
        self._label_timer.timeout.connect(self._place_labels)
        self.viewbox.sigRangeChanged.connect(lambda *_: self._label_timer.start())

    # -- drawing --------------------------------------------------------------------------------
    def show_scene(self, scene, *, titles=None, keep_view: bool = False) -> None:
        """Draw a MapScene; `keep_view` keeps the user's zoom (e.g. refreshes while indexing)."""
        self._programmatic = True
        plot = self.getPlotItem()
        if self.matches is not None:
            plot.removeItem(self.matches)
            self.matches = None
        if self.drawn is not None:
            self.drawn.remove(plot)
        if getattr(self, "density", None) is not None:
            self.density.remove()
        self.drawn = map_items.draw_scene(plot, scene, titles=titles, tooltip=self._tooltip)
        self.density = density_layer.attach(plot, self.drawn, scene)  # None unless the scene is big
        for item in [*self.drawn.scatters, *self.drawn.stars]:
            item.sigClicked.connect(self._on_click)
        if not keep_view or not self.user_zoomed:
            map_items.fit_view(plot, self.drawn)
            self.user_zoomed = False
        map_items.place_labels(plot, self.drawn)
        self._programmatic = False

    def _place_labels(self) -> None:
        plot = self.getPlotItem()
        if plot is not None:  # the timer may fire while the widget is being torn down
            map_items.place_labels(plot, self.drawn)

    def set_message(self, text: str) -> None:
        """A centred hint on an empty map ('Indexing…', 'No track matches')."""
        self._empty_text.setText(text)
        if text and self._empty_text.scene() is None:
            self.addItem(self._empty_text, ignoreBounds=True)
        elif not text and self._empty_text.scene() is not None:
            self.removeItem(self._empty_text)
        if text:
            r = self.viewbox.viewRect()
            self._empty_text.setPos(r.center())

    def set_updating(self, on: bool) -> None:
        self.updating_label.setVisible(bool(on))
        if on:
            self._place_updating()
            self.updating_label.raise_()

    def _place_updating(self) -> None:
        self.updating_label.adjustSize()
        self.updating_label.move(max(0, self.width() - self.updating_label.width() - 8), 6)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        label = self.__dict__.get("updating_label")  # resize events arrive while the base class is constructed
        if label is not None and label.isVisible():
            self._place_updating()

    def set_axis_labels(self, scene) -> None:
        if self.drawn is not None:
            map_items.apply_axis_labels(self.getPlotItem(), scene)

    def set_select_mode(self, on: bool) -> None:
        self.viewbox.select_mode = bool(on)
        self.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)

    def reset_view(self) -> None:
        map_items.fit_view(self.getPlotItem(), self.drawn)
        self.user_zoomed = False
        self._timer.start()

    def mark_likes(self, liked) -> None:
        if self.drawn is not None:
            map_items.mark_likes(self.getPlotItem(), self.drawn, liked)

    def highlight(self, row: int | None) -> None:
        if self.drawn is not None:
            self.drawn.highlight(self.getPlotItem(), row)

    # -- queries (tests use these) ----------------------------------------------------------------
    def point_count(self) -> int:
        return 0 if self.drawn is None else int(sum(len(s.getData()[0]) for s in self.drawn.scatters))

    def visible_box(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        return (float(x0), float(x1), float(y0), float(y1))

    def rows_in_box(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        if self.drawn is None:
            return np.zeros(0, dtype=np.int64)
        xy, rows = self.drawn.coords, self.drawn.rows
        inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        return rows[inside & self.drawn.shown()]

    def point_of_row(self, row: int) -> tuple[float, float] | None:
        if self.drawn is None:
            return None
        hit = np.flatnonzero(self.drawn.rows == row)
        return None if not len(hit) else tuple(map(float, self.drawn.coords[hit[0]]))

    # -- events ---------------------------------------------------------------------------------
    def _tooltip(self, x: float, y: float, data) -> str:
        if self.tooltip_fn is None or data is None:
            return ""
        return self.tooltip_fn(int(data))

    def _on_click(self, item, points, ev=None) -> None:
        if not len(points):
            return
        self.track_clicked.emit(int(points[0].data()))

    def pixels_per_unit(self) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        w, h = max(self.viewbox.width(), 1.0), max(self.viewbox.height(), 1.0)
        return (w / max(x1 - x0, 1e-12), h / max(y1 - y0, 1e-12))

    def point_at(self, pos: QPoint, radius: float = map_items.POINT_SIZE) -> int | None:
        """The drawn row of the shown point nearest to widget pixel `pos`, within `radius` pixels."""
        if self.drawn is None or not len(self.drawn.coords):
            return None
        scene_pos = self.mapToScene(pos)
        px = np.array(
            [
                [q.x(), q.y()]
                for q in (self.viewbox.mapViewToScene(QPointF(*map(float, xy))) for xy in self.drawn.coords)
            ]
        )
        d = np.hypot(px[:, 0] - scene_pos.x(), px[:, 1] - scene_pos.y())
        d[~self.drawn.shown()] = np.inf
        i = int(np.argmin(d))
        return int(self.drawn.rows[i]) if d[i] <= radius else None

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.RightButton:
            row = self.point_at(ev.position().toPoint())
            if row is not None:
                self.context_requested.emit(row, ev.globalPosition().toPoint())
                ev.accept()
                return
        super().mousePressEvent(ev)

    def keyPressEvent(self, ev) -> None:
        if ev.key() in ARROWS and not (ev.modifiers() & (Qt.ControlModifier | Qt.AltModifier)):
            self.arrow_pressed.emit(ARROWS[ev.key()], self.pixels_per_unit())
            ev.accept()
            return
        super().keyPressEvent(ev)

    def mark_matches(self, rows, centre: bool = True) -> int:
        """Highlight drawn `rows` (search hits, playlist tracks) and, when asked, pan so they are in view."""
        if self.drawn is None:
            return 0
        plot = self.getPlotItem()
        if self.matches is None:
            self.matches = map_items.Overlay(
                size=map_items.POINT_SIZE + 14,
                symbol="o",
                pen=pg.mkPen(theme.STAR, width=2, style=Qt.DotLine),
                brush=pg.mkBrush(None),
            )
            self.matches.setZValue(28)
            plot.addItem(self.matches)
        idx = np.flatnonzero(np.isin(self.drawn.rows, np.asarray(list(rows), dtype=np.int64)))
        xy = self.drawn.coords[idx].reshape(-1, 2)
        self.matches.setData(pos=xy)
        if centre and len(xy):
            (x0, x1), (y0, y1) = self.viewbox.viewRange()
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            if len(xy) == 1 or (hi[0] - lo[0] < x1 - x0 and hi[1] - lo[1] < y1 - y0):
                cx, cy = (lo + hi) / 2
                self._programmatic = True
                self.viewbox.setRange(
                    xRange=(cx - (x1 - x0) / 2, cx + (x1 - x0) / 2),
                    yRange=(cy - (y1 - y0) / 2, cy + (y1 - y0) / 2),
                    padding=0,
                )
                self._programmatic = False
            else:
                pad = 0.1 * np.maximum(hi - lo, 1e-6)
                self.viewbox.setRange(
                    xRange=(lo[0] - pad[0], hi[0] + pad[0]), yRange=(lo[1] - pad[1], hi[1] + pad[1]), padding=0
                )
            self.user_zoomed = True
        return len(idx)

    def _on_region(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.region_selected.emit(self.rows_in_box(x0, x1, y0, y1))

    def _on_manual_range(self, *_args) -> None:
        self.user_zoomed = True
        self._timer.start()

    def rows_in_polygon(self, polygon: np.ndarray) -> np.ndarray:
        if self.drawn is None:
            return np.zeros(0, dtype=np.int64)
        return self.drawn.rows[points_in_polygon(self.drawn.coords, polygon) & self.drawn.shown()]

    def _on_lasso(self, polygon) -> None:
        self.region_selected.emit(self.rows_in_polygon(polygon))

    def _emit_visible(self) -> None:
        if getattr(self, "density", None) is not None:
            self.density.update(self.visible_box())
        if not self._programmatic:
            self.visible_changed.emit(self.visible_box())
