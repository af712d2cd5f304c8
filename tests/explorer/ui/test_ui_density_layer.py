"""A big map (50k tracks, above the exact-point limit) in the real MapView, offscreen: a density image for the
whole view, exact clickable points once zoomed in, and drag-selection still answering from the data."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("PySide6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from explorer.analysis import build_map_scene
from explorer.analysis.density import EXACT_POINTS_MAX
from explorer.ui.map_view import MapView
from synthetic import synthetic_library


@pytest.fixture(scope="module")
def big_scene():
    lib = synthetic_library(50_000, n_clusters=8, n_descriptors=20, seed=0)
    return build_map_scene(lib)


def test_big_scene_is_density_until_zoomed(qtbot, big_scene):
    assert len(big_scene) > EXACT_POINTS_MAX
    view = MapView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show_scene(big_scene)
    assert view.density is not None and view.density.exact is False
    assert view.point_count() == 0 and view.density.image.isVisible()
    assert view.density.image.image.shape[2] == 4 and view.density.image.image[..., 3].max() == 255
    # zoom onto a small window around one track: only the tracks inside are drawn, exactly
    x, y = (float(v) for v in big_scene.coords[0])
    spread = np.ptp(big_scene.coords, axis=0) * 0.02
    box = (x - spread[0], x + spread[0], y - spread[1], y + spread[1])
    view.viewbox.setRange(xRange=box[:2], yRange=box[2:], padding=0)
    view._emit_visible()  # what the debounce timer does after a zoom
    inside = view.rows_in_box(*view.visible_box())
    assert 0 < inside.size <= EXACT_POINTS_MAX
    assert view.density.exact is True and not view.density.image.isVisible()
    assert view.point_count() == inside.size
    drawn_rows = np.sort(np.concatenate([[p.data() for p in s.points()] for s in view.drawn.scatters]))
    np.testing.assert_array_equal(drawn_rows, np.sort(inside))
    # back to the whole map: the density image returns
    view.reset_view()
    view._emit_visible()
    assert view.density.exact is False and view.point_count() == 0
