"""Turn a MapScene into pyqtgraph items. Shared by the app's MapView and the offscreen `qfx map` renderer, so the
PNG and the window are the same picture. One ScatterPlotItem per subcategory (one brush each, never per-point
brushes), stars for representatives, a legend with each subcategory's profile sentence, axis titles with poles
and r. The thin wrappers over analysis live here too so the window has one place that knows MapScene."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont

from explorer.analysis import display
from explorer.analysis.display import axis_title, track_titles
from explorer.analysis.filtering import TrackFilter
from explorer.analysis.scene import MapScene, build_map_scene, refresh_axes
from explorer.library.arrays import LibraryArrays
from explorer.ui import density_layer, theme

POINT_SIZE = 12
STAR_SIZE = 24
LABEL_CHARS = 28


def build_scene(arrays: LibraryArrays, filt: TrackFilter, k: int | None) -> MapScene:
    return build_map_scene(arrays, filt, k="auto" if k is None else int(k))


def relabel_axes(scene: MapScene, arrays: LibraryArrays, box) -> MapScene:
    """The same scene with axis labels for the tracks inside `box` (x0, x1, y0, y1)."""
    return refresh_axes(scene, arrays, tuple(float(v) for v in box))


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _colour(hex_colour: str, alpha: int = 255) -> QColor:
    c = QColor(hex_colour)
    c.setAlpha(alpha)
    return c


def _cluster_colour(hex_colour: str, alpha: int = 255) -> QColor:
    """A subcategory colour; the palette's black (8th entry) would vanish on the dark background."""
    c = _colour(hex_colour, alpha)
    if c.lightness() < 40:
        c = QColor(187, 187, 187, alpha)
    elif c.lightness() < 110:  # deep blues read poorly on the dark background: same hue, lighter
        c = c.lighter(135)
        c.setAlpha(alpha)
    return c


class Overlay(pg.ScatterPlotItem):
    """Marks drawn over points (selection ring, like rings, search hits): a click passes through to the point below
    (a plain ScatterPlotItem accepts every click on its own spots, so the ringed track could not be played)."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


@dataclass
class DrawnScene:
    """The items a scene put on a plot, and the point data needed to answer clicks and drag selections."""

    coords: np.ndarray  # (n, 2)
    rows: np.ndarray  # (n,) arrays rows, same order as coords
    clusters: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (n,) subcategory per point
    scatters: list[pg.ScatterPlotItem] = field(default_factory=list)
    stars: list[pg.ScatterPlotItem] = field(default_factory=list)
    star_rows: set[int] = field(default_factory=set)  # arrays rows of the representatives
    labels: list[pg.TextItem] = field(default_factory=list)
    legend: pg.LegendItem | None = None
    ring: pg.ScatterPlotItem | None = None
    likes: pg.ScatterPlotItem | None = None
    dislikes: pg.ScatterPlotItem | None = None

    def remove(self, plot: pg.PlotItem) -> None:
        extra = [i for i in (self.ring, self.likes, self.dislikes) if i is not None]
        for item in [*self.scatters, *self.stars, *self.labels, *extra]:
            plot.removeItem(item)
        if self.legend is not None and self.legend.scene() is not None:
            self.legend.scene().removeItem(self.legend)

    def shown(self) -> np.ndarray:
        """(n,) bool: points of subcategories not hidden through the legend (clicking a legend sample hides it)."""
        visible = np.array([item.isVisible() for item in self.scatters], dtype=bool)
        if not len(self.clusters) or not len(visible):
            return np.ones(len(self.rows), dtype=bool)
        return visible[np.clip(self.clusters, 0, len(visible) - 1)]

    def highlight(self, plot: pg.PlotItem, row: int | None) -> None:
        """A ring around the playing/selected track."""
        if self.ring is None:
            self.ring = Overlay(
                size=POINT_SIZE + 10, symbol="o", pen=pg.mkPen(theme.ACCENT, width=2.5), brush=pg.mkBrush(None)
            )
            self.ring.setZValue(30)
            plot.addItem(self.ring)
        hit = np.flatnonzero(self.rows == row) if row is not None else []
        if len(hit):
            size = STAR_SIZE + 12 if int(row) in self.star_rows else POINT_SIZE + 10
            self.ring.setData(pos=self.coords[hit[:1]], size=size)
        else:
            self.ring.setData(pos=np.zeros((0, 2)))


LIKE_COLOUR = "#ff6f91"


def mark_likes(plot: pg.PlotItem, drawn: DrawnScene, liked: np.ndarray) -> None:
    """Rings around liked tracks and small crosses on disliked ones (liked: (N,) +1/-1/0 over arrays rows)."""
    flags = np.asarray(liked)
    if drawn.likes is None:
        drawn.likes = Overlay(
            size=POINT_SIZE + 7, symbol="o", pen=pg.mkPen(LIKE_COLOUR, width=2), brush=pg.mkBrush(None)
        )
        drawn.dislikes = Overlay(size=POINT_SIZE - 2, symbol="x", pen=pg.mkPen(None), brush=pg.mkBrush(theme.MUTED))
        for item in (drawn.likes, drawn.dislikes):
            item.setZValue(22)
            plot.addItem(item)
    valid = drawn.rows < len(flags)
    value = np.zeros(len(drawn.rows), dtype=np.int8)
    value[valid] = flags[drawn.rows[valid]]
    liked_at = np.flatnonzero(value > 0)
    # a representative's star is bigger than a point: its ring must go around the star
    sizes = [STAR_SIZE + 8 if int(drawn.rows[i]) in drawn.star_rows else POINT_SIZE + 7 for i in liked_at]
    drawn.likes.setData(pos=drawn.coords[liked_at].reshape(-1, 2), size=sizes)
    drawn.dislikes.setData(pos=drawn.coords[value < 0].reshape(-1, 2))


def apply_axis_labels(plot: pg.PlotItem, scene: MapScene) -> None:
    style = {"color": theme.TEXT, "font-size": "11pt"}
    if len(scene) == 0:  # nothing to interpret: no "0% · no clear meaning" noise on an empty map
        for name in ("bottom", "left"):
            plot.setLabel(name, "")
            plot.getAxis(name).setToolTip("")
        return
    for axis, name in ((0, "bottom"), (1, "left")):
        plot.setLabel(name, axis_title(scene, axis), **style)
        ax = plot.getAxis(name)
        ax.enableAutoSIPrefix(False)  # map coordinates have no unit: never a "(x1e-09)" beside the title
        ax.setStyle(showValues=False)  # ...nor meaningless PCA numbers along the axis
        label = scene.axis_labels[axis]
        names = display.descriptor_labels([d for d, _ in label.ranking[:5]])
        tip = "\n".join(f"{names.get(d, d)}: r = {r:+.2f}" for d, r in label.ranking[:5])
        share = float(scene.explained_variance[axis]) * 100
        ax.setToolTip(
            f"Axis {axis + 1} of the map ({share:.0f}% of how the tracks differ): {label.short}\n\n"
            f"What changes most along it ({label.n} visible tracks; r = correlation):\n{tip}"
        )


def draw_scene(
    plot: pg.PlotItem,
    scene: MapScene,
    *,
    titles: Sequence[str] | None = None,
    tooltip: Callable | None = None,
) -> DrawnScene:
    """Add the scene's items to `plot`. `titles` (arrays order) names the representatives; `tooltip(x, y, data)`
    gives hover text for a point whose data is its arrays row."""
    coords = np.asarray(scene.coords, dtype=float).reshape(-1, 2)
    rows = np.asarray(scene.indices, dtype=np.int64)
    drawn = DrawnScene(coords=coords, rows=rows, clusters=np.asarray(scene.labels, dtype=np.int64).reshape(-1))
    legend = pg.LegendItem(
        offset=(12, 12),
        labelTextColor=theme.TEXT,
        labelTextSize="10pt",
        brush=pg.mkBrush(_colour(theme.PANEL, 215)),
        pen=pg.mkPen("#3a3f4b"),
    )
    legend.setParentItem(plot.getViewBox())
    legend.setZValue(50)
    legend.setVisible(len(scene) > 0)
    drawn.legend = legend
    labels = np.asarray(scene.labels, dtype=np.int64)
    big = density_layer.skip_points(scene)  # level of detail: the density layer fills the items per view
    for c in range(scene.k):
        members = np.flatnonzero(labels == c)
        n_members = len(members)
        members = members[:0] if big else members
        colour = _cluster_colour(scene.colours[c])
        item = pg.ScatterPlotItem(
            pos=coords[members],
            data=rows[members],
            size=POINT_SIZE,
            symbol="o",
            brush=pg.mkBrush(_cluster_colour(scene.colours[c], 225)),
            pen=pg.mkPen(QColor(0, 0, 0, 140), width=1),
            hoverable=tooltip is not None,
            tip=tooltip,
            hoverPen=pg.mkPen(theme.TEXT, width=2),
            hoverSize=POINT_SIZE + 4,
        )
        item.setZValue(10)
        plot.addItem(item)
        drawn.scatters.append(item)
        profile = scene.profiles[c] if c < len(scene.profiles) else None
        sentence = profile.sentence if profile is not None else ""
        n = n_members
        legend.addItem(
            item, f"<b style='color:{colour.name()}'>{c + 1}</b> · {n} track{'s' if n != 1 else ''} — {sentence}"
        )
    positions = scene.representative_positions
    x_mid = float(coords[:, 0].min() + 0.65 * np.ptp(coords[:, 0])) if len(coords) else 0.0
    for c, pos in enumerate(positions):
        if pos < 0:
            continue
        star = pg.ScatterPlotItem(
            pos=coords[pos : pos + 1],
            data=rows[pos : pos + 1],
            size=STAR_SIZE,
            symbol="star",
            brush=pg.mkBrush(_cluster_colour(scene.colours[c])),
            pen=pg.mkPen(theme.STAR, width=1.5),
            hoverable=tooltip is not None,
            tip=tooltip,
        )
        star.setZValue(20)
        plot.addItem(star)
        drawn.stars.append(star)
        row = int(rows[pos])
        drawn.star_rows.add(row)
        name = titles[row] if titles is not None and row < len(titles) and titles[row] else f"subcategory {c + 1}"
        right_side = float(coords[pos, 0]) > x_mid  # labels of right-hand stars extend leftwards, inside the view
        text = pg.TextItem(
            f"★ {_short(name)}",
            color=theme.TEXT,
            anchor=(1.0 if right_side else 0.0, 1.45),
            fill=pg.mkBrush(_colour(theme.BACKGROUND, 190)),
            border=pg.mkPen(_cluster_colour(scene.colours[c])),
        )
        font = QFont()
        font.setPointSize(9)
        text.setFont(font)
        text.setPos(float(coords[pos, 0]), float(coords[pos, 1]))
        text.setZValue(25)
        text.setAcceptedMouseButtons(Qt.NoButton)
        text.star_pos = int(pos)  # which point the label names (place_labels moves it around that point)
        plot.addItem(text)
        drawn.labels.append(text)
        # hiding a subcategory from the legend hides its star and label too
        scatter = drawn.scatters[c]
        scatter.visibleChanged.connect(
            lambda s=scatter, st=star, t=text: (st.setVisible(s.isVisible()), t.setVisible(s.isVisible()))
        )
    apply_axis_labels(plot, scene)
    return drawn


LABEL_ANCHORS = ((0.0, 1.45), (1.0, 1.45), (0.0, -0.45), (1.0, -0.45), (0.5, 1.6), (0.5, -0.6))
POINT_RADIUS_PX = POINT_SIZE / 2 + 1


def place_labels(plot: pg.PlotItem, drawn: DrawnScene | None) -> None:
    """Put each star's title label on the side of its star that covers the fewest other points (on screen pixels,
    so call it after the view range changed)."""
    if plot is None or drawn is None or not drawn.labels or not len(drawn.coords):
        return
    vb = plot.getViewBox()
    px = np.array([[q.x(), q.y()] for q in (vb.mapViewToScene(QPointF(*map(float, xy))) for xy in drawn.coords)])
    shown = drawn.shown()
    for label in drawn.labels:
        i = getattr(label, "star_pos", None)
        if i is None or not label.isVisible():
            continue
        rect = label.boundingRect()
        w, h = rect.width(), rect.height()
        others = np.ones(len(px), dtype=bool)
        others[i] = False
        others &= shown
        best, best_n = None, None
        for ax, ay in LABEL_ANCHORS:
            x0, y0 = px[i, 0] - ax * w, px[i, 1] - ay * h
            r = POINT_RADIUS_PX
            inside = (px[:, 0] > x0 - r) & (px[:, 0] < x0 + w + r) & (px[:, 1] > y0 - r) & (px[:, 1] < y0 + h + r)
            n = int((inside & others).sum())
            if best_n is None or n < best_n:
                best, best_n = (ax, ay), n
        label.setAnchor(best)
        label.covered = best_n


def labels_covering_points(plot: pg.PlotItem, drawn: DrawnScene) -> int:
    """How many shown points (other than the labelled stars) lie under a star label, in screen pixels."""
    vb = plot.getViewBox()
    total = 0
    shown = drawn.shown()
    for label in drawn.labels:
        i = getattr(label, "star_pos", None)
        if i is None or not label.isVisible():
            continue
        box = label.sceneBoundingRect()
        for j, xy in enumerate(drawn.coords):
            if j == i or not shown[j]:
                continue
            q = vb.mapViewToScene(QPointF(*map(float, xy)))
            if box.adjusted(
                -POINT_RADIUS_PX + 2, -POINT_RADIUS_PX + 2, POINT_RADIUS_PX - 2, POINT_RADIUS_PX - 2
            ).contains(q):
                total += 1
    return total


def fit_view(plot: pg.PlotItem, drawn: DrawnScene | None, padding: float = 0.08) -> None:
    """Show every point, with head-room at the top so the legend (top-left) never hides a point."""
    vb = plot.getViewBox()
    if drawn is None or not len(drawn.coords):
        vb.autoRange(padding=padding)
        return
    lo, hi = drawn.coords.min(axis=0), drawn.coords.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - padding * span, hi + padding * span
    height_px = max(vb.height(), 1.0)
    legend_px = drawn.legend.boundingRect().height() + 20 if drawn.legend is not None else 0.0
    share = min(legend_px / height_px, 0.6)
    top = hi[1] + (hi[1] - lo[1]) * share / (1.0 - share)
    vb.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], top), padding=0)


titles_for = track_titles  # the name `qfx map` imported before the formatter existed
