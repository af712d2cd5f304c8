"""`qfx map` and render_scene_png: the app's map items drawn offscreen to a PNG of the indexed demo library."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
from PySide6.QtGui import QColor, QImage

from explorer.analysis import TrackFilter, build_map_scene, facet_counts
from explorer.cli.main import main as qfx
from explorer.library.cache import LibraryCache
from explorer.ui.map_items import _cluster_colour, axis_title
from explorer.ui.map_render import render_scene_png


@pytest.fixture(scope="module")
def indexed(indexed_demo):
    return indexed_demo


@pytest.fixture(scope="module")
def arrays(indexed):
    library, cache_dir, _ = indexed
    with LibraryCache.open(library, cache_dir) as cache:
        return cache.load_arrays(muq=False)


def _image_array(path) -> np.ndarray:
    img = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    ptr = img.constBits()
    return (
        np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes())
        .reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
        .reshape(img.height(), img.width(), 3)
        .copy()
    )


def _pixels_near(rgb: np.ndarray, colour: QColor, tol: int = 40) -> int:
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return int((np.abs(rgb.astype(int) - target).max(axis=2) < tol).sum())


def test_render_scene_png_draws_every_subcategory(qapp, arrays, tmp_path):
    scene = build_map_scene(arrays, TrackFilter(), k=3)
    out = render_scene_png(scene, tmp_path / "map.png", (800, 600))
    rgb = _image_array(out)
    assert rgb.shape == (600, 800, 3)
    assert rgb.std() > 5  # not a blank image
    for c in range(scene.k):  # every subcategory's colour is on the canvas
        assert _pixels_near(rgb, _cluster_colour(scene.colours[c])) > 20, c


def test_qfx_map_cli(indexed, arrays, tmp_path, capsys):
    library, cache_dir, _ = indexed
    genre = next(g for g, c in facet_counts(arrays).genres.items() if 1 < c < 20)
    out = tmp_path / "jazz.png"
    rc = qfx(
        [
            "map",
            str(library),
            "--genre",
            genre,
            "--k",
            "2",
            "--cache",
            str(cache_dir),
            "--out",
            str(out),
            "--size",
            "640x480",
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0 and out.exists()
    scene = build_map_scene(arrays, TrackFilter.of(genres=[genre]), k=2)
    assert f"{len(scene)} tracks" in printed
    assert axis_title(scene, 0) in printed and axis_title(scene, 1) in printed
    assert _image_array(out).shape == (480, 640, 3)


def test_qfx_map_errors_are_one_line(indexed, tmp_path, capsys):
    library, cache_dir, _ = indexed
    rc = qfx(
        ["map", str(library), "--genre", "NoSuchGenre", "--cache", str(cache_dir), "--out", str(tmp_path / "x.png")]
    )
    assert rc == 1 and "unknown genre" in capsys.readouterr().err
    rc = qfx(["map", str(tmp_path), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "y.png")])
    assert rc == 1 and "qfx index" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        qfx(["map", str(library), "--k", "9", "--out", str(tmp_path / "z.png")])
