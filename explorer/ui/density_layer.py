"""Keeps a map of 10^5-10^6 tracks drawable: a density image when many points are in view, exact points below.

Hook (two lines in the map code): `map_items.draw_scene` leaves the scatter items empty when the scene has more
than `EXACT_POINTS_MAX` points (`skip_points(scene)`), and `MapView` calls `attach(...)` after drawing and
`layer.update(box)` after every zoom/pan. The binning is `explorer.analysis.density` (no Qt); this module only
moves its result onto the plot: an ImageItem under the points, and the in-view points of each subcategory put
into that subcategory's scatter item (so clicks, hover and the legend keep working once zoomed in).
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from explorer.analysis.density import EXACT_POINTS_MAX, level_of_detail


def skip_points(scene: Any) -> bool:
    """True when the scene is too big to hand every point to the scatter items up front."""
    return len(scene) > EXACT_POINTS_MAX


class DensityLayer:
    """The level-of-detail state of one drawn scene."""

    def __init__(self, plot: pg.PlotItem, drawn: Any, scene: Any, max_points: int = EXACT_POINTS_MAX) -> None:
        self.plot, self.drawn, self.max_points = plot, drawn, max_points
        self.colours = list(scene.colours)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(5)  # under the points (10) and stars (20)
        plot.addItem(self.image)
        self.brushes = [pg.mkBrush(QColor(c).red(), QColor(c).green(), QColor(c).blue(), 225) for c in self.colours]
        self.pen = pg.mkPen(QColor(0, 0, 0, 140), width=1)
        self.exact: bool | None = None

    def remove(self) -> None:
        self.plot.removeItem(self.image)

    def update(self, box: tuple[float, float, float, float] | None) -> bool:
        """Redraw for the view `box`; returns True when exact points are shown."""
        d = self.drawn
        shown = d.shown()
        coords, clusters, rows = d.coords[shown], d.clusters[shown], d.rows[shown]
        lod = level_of_detail(coords, clusters, self.colours, box, self.max_points)
        picked = lod.rows if lod.exact else lod.rows[:0]
        for c, item in enumerate(d.scatters):
            if not item.isVisible():
                continue
            sel = picked[clusters[picked] == c]
            item.setData(pos=coords[sel], data=rows[sel], brush=self.brushes[c], pen=self.pen)
        if lod.exact:
            self.image.hide()
        else:
            img = lod.density
            x0, x1, y0, y1 = img.bounds
            self.image.setImage(img.rgba, autoLevels=False)  # row 0 at y0: the view's y axis points up
            self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.image.show()
        self.exact = lod.exact
        return lod.exact


def attach(
    plot: pg.PlotItem, drawn: Any, scene: Any, box: tuple[float, float, float, float] | None = None
) -> DensityLayer | None:
    """A DensityLayer for a big scene (drawn for `box`, None = everything), None for a scene drawn exactly."""
    if not skip_points(scene):
        return None
    layer = DensityLayer(plot, drawn, scene)
    layer.update(box)
    return layer
