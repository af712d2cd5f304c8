"""Draw a MapScene to a PNG without a window (for `qfx map`), with the very items the app's map uses."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _ensure_app():
    """A QApplication for offscreen drawing; without a display Qt is told to render offscreen."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(sys.argv[:1])
    return app


def render_scene_png(
    scene,
    path: str | os.PathLike,
    size: tuple[int, int] = (1200, 900),
    *,
    titles: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Write `scene` as a PNG of `size` pixels; `titles` (LibraryArrays order) names the representatives."""
    _ensure_app()
    import pyqtgraph as pg

    from explorer.ui import density_layer, map_items, theme

    theme.configure_pyqtgraph()
    widget = pg.PlotWidget()
    try:
        widget.resize(int(size[0]), int(size[1]))
        plot = widget.getPlotItem()
        plot.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        if title:
            plot.setTitle(title, color=theme.TEXT, size="13pt")
        drawn = map_items.draw_scene(plot, scene, titles=titles)
        density_layer.attach(plot, drawn, scene)  # a big scene is drawn as a density image
        map_items.fit_view(plot, drawn)
        if len(scene) == 0:
            text = pg.TextItem("no tracks to show", color=theme.MUTED, anchor=(0.5, 0.5))
            plot.addItem(text)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not widget.grab().save(str(out), "PNG"):
            raise OSError(f"cannot write {out}")
        return out
    finally:
        widget.deleteLater()
