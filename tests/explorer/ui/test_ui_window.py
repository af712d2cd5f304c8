"""The explorer window on the indexed demo library (offscreen Qt): filters, click-to-play, drag-select audition,
likes -> recommendations, background indexing. A recording player stands in for the sound card."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from explorer.analysis import (
    TrackFilter,
    build_map_scene,
    display,
    facet_counts,
    liked_rows,
    recommend,
)
from explorer.library.cache import LibraryCache
from explorer.ui.main_window import MainWindow
from ui_helpers import RecordingPlayer, isolated_point, widget_pos


def test_map_shows_every_track_and_filters_change_it(window):
    win, _ = window
    arrays = win.library.arrays
    assert len(arrays) == 20 and win.map.point_count() == 20
    assert len(win.map.drawn.scatters) == win.maps.scene.k  # one scatter item per subcategory
    expected = build_map_scene(arrays, TrackFilter(), k="auto")
    assert win.map.getPlotItem().getAxis("bottom").labelText == display.axis_title(expected, 0)

    counts = facet_counts(arrays)
    genre = max((g for g in arrays.genre_names if counts.genres[g] < 20), key=lambda g: counts.genres[g])
    emotion = max(arrays.tag_names, key=lambda t: counts.emotions[t])
    win.filters.set_selection(genres=[genre], k=2)
    filt = TrackFilter.of(genres=[genre])
    want = facet_counts(arrays, filt).total
    assert 0 < want < 20 and win.map.point_count() == want
    scene = build_map_scene(arrays, filt, k=2)
    assert win.maps.scene.k == 2 and len(win.map.drawn.scatters) == 2
    assert win.map.getPlotItem().getAxis("left").labelText == display.axis_title(scene, 1)

    win.filters.set_selection(genres=[genre], emotions=[emotion], quadrants=[])
    both = facet_counts(arrays, TrackFilter.of(genres=[genre], emotions=[emotion])).total
    assert win.map.point_count() == both
    # the genre list shows counts under the other facets' selection
    item_texts = [win.filters.emotions.item(i).text() for i in range(win.filters.emotions.count())]
    assert f"{emotion}  ({facet_counts(arrays, TrackFilter.of(genres=[genre])).emotions[emotion]})" in item_texts

    win.filters.clear()
    assert win.map.point_count() == 20


def test_click_on_a_point_plays_that_track_from_its_excerpt(window, qtbot):
    win, player = window
    i = isolated_point(win)
    row = int(win.map.drawn.rows[i])
    pos = widget_pos(win, *win.map.drawn.coords[i])
    qtbot.mouseClick(win.map.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: bool(player.plays()), timeout=3000)
    _, path, start, duration = player.plays()[-1]
    assert path == win.library.arrays.paths[row]
    assert start == pytest.approx(float(win.library.arrays.excerpt_starts[row]))
    assert duration is None
    assert win.details.title.text() == (win.library.arrays.titles[row] or Path(path).stem)
    assert win.details.bars is not None and len(win.details.bars.opts["width"]) == 12
    # the descriptor column shows the analysis percentiles of this track
    from explorer.analysis.ranks import descriptor_percentiles

    want = descriptor_percentiles(win.library.arrays.descriptors, row)
    table = win.details.descriptors
    assert table.rowCount() == len(want) == len(win.library.arrays.descriptor_names)
    assert [float(table.item(i, 1).text()) for i in range(table.rowCount())] == [float(f"{p:.0f}") for p in want]
    # hover text: title, artist and the three strongest emotions
    tip = win.map._tooltip(0.0, 0.0, row)
    top3 = [win.library.arrays.tag_names[j] for j in np.argsort(-win.library.arrays.tag_scores[row])[:3]]
    assert tip.startswith(win.library.arrays.titles[row] or Path(path).stem) and all(t in tip for t in top3)


def test_uncaught_errors_become_a_dialog(window, monkeypatch):
    from explorer.ui import errors

    shown: list[tuple] = []
    monkeypatch.setattr(
        errors, "show_error", lambda parent, title, msg, details="": shown.append((title, msg, details))
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        errors._hook(*sys.exc_info())
    assert shown and "boom" in shown[0][1] and "Traceback" in shown[0][2]


def _drag(qtbot, widget, a: QPoint, b: QPoint, modifier=Qt.ShiftModifier) -> None:
    """A real press-move-release sequence (QTest.mouseMove carries no button state, so send the events)."""

    def send(kind, pos: QPoint, button, buttons) -> None:
        local = QPointF(pos)
        event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)), button, buttons, modifier)
        QApplication.sendEvent(widget, event)
        QTest.qWait(5)

    send(QEvent.MouseButtonPress, a, Qt.LeftButton, Qt.LeftButton)
    steps = 8
    for s in range(1, steps + 1):
        send(QEvent.MouseMove, a + (b - a) * (s / steps), Qt.NoButton, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, b, Qt.LeftButton, Qt.NoButton)


def test_shift_drag_auditions_exactly_the_tracks_inside(window, qtbot):
    win, player = window
    coords, rows = win.map.drawn.coords, win.map.drawn.rows
    # a box around the middle of the cloud, in map coordinates
    lo, hi = np.percentile(coords, 25, axis=0), np.percentile(coords, 80, axis=0)
    start, end = widget_pos(win, lo[0], hi[1]), widget_pos(win, hi[0], lo[1])
    # the box the drag really draws: its corners are whole pixels, so read them back in map coordinates
    corners = [win.map.viewbox.mapSceneToView(win.map.mapToScene(p)) for p in (start, end)]
    (x0, x1), (y0, y1) = sorted(c.x() for c in corners), sorted(c.y() for c in corners)
    inside = rows[(coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)]
    assert 0 < len(inside) < len(rows)
    view_before = win.map.viewbox.viewRange()
    _drag(qtbot, win.map.viewport(), start, end)
    qtbot.waitUntil(lambda: bool(win.audition.rows), timeout=3000)
    assert sorted(win.audition.rows) == sorted(int(r) for r in inside)
    assert win.map.viewbox.viewRange() == view_before  # selecting did not pan
    # previews: 10 s each, from the excerpt start, one after another
    first = win.audition.rows[0]
    assert player.plays()[-1] == (
        "play",
        win.library.arrays.paths[first],
        pytest.approx(float(win.library.arrays.excerpt_starts[first])),
        10.0,
    )
    if len(win.audition.rows) > 1:
        # end-of-preview arrives on the decoder thread; the window must marshal it and move on
        threading.Thread(target=player.on_finished, args=(player.path,)).start()
        second = win.audition.rows[1]
        qtbot.waitUntil(lambda: player.plays()[-1][1] == win.library.arrays.paths[second], timeout=3000)
    out = win.browser.write_playlist(win.library.root / "sel.m3u8", win.audition.rows)
    lines = [t for t in out.read_text().splitlines() if t and not t.startswith("#")]
    assert [str((out.parent / t).resolve()) for t in lines] == [
        str(Path(win.library.arrays.paths[r]).resolve()) for r in win.audition.rows
    ]
    out.unlink()


def test_likes_persist_and_change_recommendations(window, qtbot):
    win, player = window
    arrays = win.library.arrays
    assert win.recommendations.rows == []
    win.playback.play_row(0)
    QTest.keyClick(win, Qt.Key_L)
    qtbot.waitUntil(lambda: bool(win.recommendations.rows), timeout=3000)
    first = list(win.recommendations.rows)
    assert first == [r.index for r in recommend(arrays.embeddings, [0], [], n=10)]
    assert 0 not in first and win.details.like_button.isChecked()

    far = first[-1]  # the least similar recommendation: liking it must move the taste vector
    win.playback.play_row(far)
    QTest.keyClick(win, Qt.Key_L)
    qtbot.waitUntil(lambda: win.recommendations.rows != first, timeout=3000)
    liked, disliked = liked_rows(win.library.arrays.liked)
    assert sorted(liked) == sorted([0, far])
    assert win.recommendations.rows == [r.index for r in recommend(arrays.embeddings, liked, disliked, n=10)]

    with LibraryCache.open(win.library.root, win.library.cache_dir) as cache:
        ids = arrays.track_ids
        assert cache.likes() == {int(ids[0]): 1, int(ids[far]): 1}
    ringed = {tuple(p) for p in np.asarray(win.map.drawn.likes.getData()).T.round(4)}
    assert ringed == {tuple(win.map.drawn.coords[list(win.map.drawn.rows).index(r)].round(4)) for r in (0, far)}

    QTest.keyClick(win, Qt.Key_D)  # dislike the current track (replaces its like)
    with LibraryCache.open(win.library.root, win.library.cache_dir) as cache:
        assert cache.likes()[int(arrays.track_ids[far])] == -1


def test_keyboard_transport(window, qtbot):
    """Ctrl+Right drifts to the nearest unplayed point, Ctrl+Left goes back, Space pauses and resumes."""
    from explorer.analysis.navigation import nearest_unplayed

    win, player = window
    win.map.setFocus()
    first = int(win.map.drawn.rows[0])
    win.playback.play_row(first)
    want = nearest_unplayed(win.maps.points(), first, [first])
    QTest.keyClick(win, Qt.Key_Right, Qt.ControlModifier)
    assert player.plays()[-1][1] == win.library.arrays.paths[want]
    QTest.keyClick(win, Qt.Key_Left, Qt.ControlModifier)
    assert player.plays()[-1][1] == win.library.arrays.paths[first]
    QTest.keyClick(win, Qt.Key_Space)
    assert player.is_paused
    QTest.keyClick(win, Qt.Key_Space)
    assert not player.is_paused


def test_settings_restore_filters_and_recent_library(window, qtbot, tmp_path, indexed):
    win, _ = window
    genre = next(g for g, c in facet_counts(win.library.arrays).genres.items() if 0 < c < 20)
    win.filters.set_selection(genres=[genre], k=3)
    win.close()
    library, _, model_dir = indexed
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    again = MainWindow(
        player=RecordingPlayer(),
        settings=settings,
        cache_dir=win.library.cache_dir,
        model_loader=lambda: (str(model_dir), None),
    )
    qtbot.addWidget(again)
    assert again.settings.recent_libraries()[0] == str(library.resolve())
    again.open_library(library, index=False)
    assert again.filters.current_filter().genres == (genre,) and again.filters.k() == 3
    assert again.map.point_count() == facet_counts(again.library.arrays, TrackFilter.of(genres=[genre])).total
    again.close()


def _unindexed_window(qtbot, indexed, tmp_path: Path, files: list[Path]) -> tuple[MainWindow, Path]:
    """A shown window on an empty cache, plus a fresh library holding copies of `files`: opening it starts indexing."""
    _, _, model_dir = indexed
    library = tmp_path / "lib"
    library.mkdir()
    for f in files:
        shutil.copy(f, library)
    win = MainWindow(
        player=RecordingPlayer(),
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
        cache_dir=tmp_path / "cache",
        model_loader=lambda: (str(model_dir), None),
        index_workers=1,
    )
    qtbot.addWidget(win)
    win.show()
    return win, library


def test_background_indexing_fills_the_map(qtbot, indexed, tmp_path, demo_files):
    # All 20 demo files: at ~0.1-0.2 CPU s a file, 10 were indexed before the map of the first 8 could be drawn.
    win, library = _unindexed_window(qtbot, indexed, tmp_path, demo_files)
    n = len(demo_files)
    win.library.reload_interval = 0.0  # redraw on every progress step, so the partial map is observable
    win.library.reload_cost_factor = 0.0  # ...even when a loaded machine makes reloads slow
    drawn: list[int] = []
    win.maps.scene_drawn.connect(lambda: drawn.append(win.map.point_count()))  # what was on screen, scene by scene
    progress: list[tuple] = []
    win.open_library(library)
    assert win.library.worker is not None and win.library.worker.isRunning()
    win.library.worker.progressed.connect(lambda *a: progress.append(a))
    assert win.map.point_count() == 0
    # done = the queued `succeeded` signal has been handled (the Cancel button goes away), not just the thread ended
    qtbot.waitUntil(
        lambda: not win.library.worker.isRunning() and not win.index_status.cancel_button.isVisible(), timeout=120000
    )
    assert win.map.point_count() == n == 20
    assert any(0 < k < n for k in drawn), drawn  # the map filled in while indexing ran (8-file commits)
    assert any(total == n for _, total, *_ in progress)
    assert "up to date" in win.index_status.label.text()
    win.close()


def test_cancel_stops_indexing(qtbot, indexed, tmp_path, demo_files):
    win, library = _unindexed_window(qtbot, indexed, tmp_path, demo_files[:6])
    win.open_library(library)
    cancelled: list[bool] = []
    win.library.worker.cancelled.connect(lambda: cancelled.append(True))
    win.index_status.cancel_button.click()
    # the thread may end before its queued `cancelled` signal reaches the GUI thread: wait for the signal
    qtbot.waitUntil(lambda: bool(cancelled) and not win.library.worker.isRunning(), timeout=60000)
    assert "cancelled" in win.index_status.label.text().lower()
    win.close()


def _in_triangle(p: np.ndarray, a, b, c) -> np.ndarray:
    """Independent reference: same-sign test on the three edge cross products."""

    def cross(o, u, v):
        return (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])

    d1, d2, d3 = cross(a, b, p.T), cross(b, c, p.T), cross(c, a, p.T)
    return ((d1 >= 0) & (d2 >= 0) & (d3 >= 0)) | ((d1 <= 0) & (d2 <= 0) & (d3 <= 0))


def test_ctrl_drag_lasso_selects_the_tracks_inside(window, qtbot):
    win, player = window
    coords, rows = win.map.drawn.coords, win.map.drawn.rows
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    a, b, c = (lo[0], lo[1]), (hi[0], lo[1]), (lo[0], hi[1])  # lower-left half of the cloud's box
    widget = win.map.viewport()

    def send(kind, xy, button, buttons):
        pos = widget_pos(win, *xy)
        ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.ControlModifier)
        QApplication.sendEvent(widget, ev)
        QTest.qWait(3)

    send(QEvent.MouseButtonPress, a, Qt.LeftButton, Qt.LeftButton)
    for t in np.linspace(0, 1, 10)[1:]:
        send(QEvent.MouseMove, (a[0] + t * (b[0] - a[0]), a[1]), Qt.NoButton, Qt.LeftButton)
    for t in np.linspace(0, 1, 10)[1:]:
        send(QEvent.MouseMove, (b[0] + t * (c[0] - b[0]), b[1] + t * (c[1] - b[1])), Qt.NoButton, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, c, Qt.LeftButton, Qt.NoButton)
    qtbot.waitUntil(lambda: bool(win.audition.rows), timeout=3000)
    # the path passes through pixel-rounded positions: judge only points clearly inside or outside
    inner = _in_triangle(
        coords, *[np.array(v) + 0.02 * (np.mean([a, b, c], axis=0) - v) for v in map(np.array, (a, b, c))]
    )
    outer = _in_triangle(
        coords, *[np.array(v) - 0.02 * (np.mean([a, b, c], axis=0) - v) for v in map(np.array, (a, b, c))]
    )
    got = set(win.audition.rows)
    assert set(int(r) for r in rows[inner]) <= got <= set(int(r) for r in rows[outer])
    assert 0 < len(got) < len(rows)


def test_points_in_polygon_concave():
    from explorer.ui.map_view import points_in_polygon

    # a U shape: the notch (x in 1..2, y > 1) is outside
    u = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3]], float)
    pts = np.array([[0.5, 2], [1.5, 2], [2.5, 2], [1.5, 0.5], [4, 1], [-1, 1]], float)
    assert points_in_polygon(pts, u).tolist() == [True, False, True, True, False, False]
    assert not points_in_polygon(pts, u[:2]).any()


def test_drop_a_folder_opens_it_and_recent_menu_lists_it(window, monkeypatch, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    win, _ = window
    assert [a.text() for a in win.recent_menu.actions()] == [str(win.library.root)]
    opened: list[Path] = []
    monkeypatch.setattr(win, "open_library", lambda root, **kw: opened.append(Path(root)))

    def mime(path: Path) -> QMimeData:
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(path))])
        return data

    a_file = tmp_path / "song.mp3"
    a_file.write_bytes(b"x")
    for target, accepted in ((a_file, True), (tmp_path, True)):  # a file is refused on drop, with the reason
        data = mime(target)
        enter = QDragEnterEvent(QPoint(5, 5), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
        enter.ignore()
        win.dragEnterEvent(enter)
        assert enter.isAccepted() == accepted, target
    data = mime(tmp_path)  # keep a reference: the event does not own its mime data
    win.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier))
    assert opened == [tmp_path]


def test_audio_device_setting_reaches_the_player(window, monkeypatch):
    from explorer.ui import main_window as mw

    win, player = window

    class Accepting:
        def __init__(self, current, theme, parent):
            pass

        def exec(self):
            return True

        def device(self):
            return "USB DAC"

        def theme(self):
            return "light"

    monkeypatch.setattr(mw, "SettingsDialog", Accepting)
    win.open_settings()
    assert ("device", "USB DAC") in player.calls and win.settings.audio_device() == "USB DAC"
    from explorer.ui import theme

    assert win.settings.theme() == "light" and theme.current == "light"
    assert QApplication.instance().palette().base().color().name() == theme.LIGHT["BASE"]
    theme.apply_choice("dark")


def test_opening_a_missing_folder_is_a_dialog_not_a_crash(window, monkeypatch, tmp_path):
    from explorer.ui import main_window as mw

    win, _ = window
    shown: list[tuple] = []
    monkeypatch.setattr(mw, "show_error", lambda parent, title, msg, details="": shown.append((title, msg)))
    before = win.library.root
    win.open_library(tmp_path / "nope")
    assert shown and "not a folder" in shown[0][1] and win.library.root == before


def test_hiding_a_subcategory_in_the_legend_excludes_it(window, qtbot):
    win, player = window
    drawn = win.map.drawn
    hidden = 0
    sample = drawn.legend.items[hidden][0]  # (ItemSample, LabelItem): clicking the sample toggles the scatter
    pos = win.map.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(win.map.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: not drawn.scatters[hidden].isVisible(), timeout=3000)
    assert not drawn.stars[hidden].isVisible() and not drawn.labels[hidden].isVisible()
    lo, hi = drawn.coords.min(axis=0) - 1, drawn.coords.max(axis=0) + 1
    rows = win.map.rows_in_box(lo[0], hi[0], lo[1], hi[1])
    assert sorted(rows) == sorted(int(r) for r, c in zip(drawn.rows, drawn.clusters) if c != hidden)
    win.playback.play_row(int(rows[0]))
    for _ in range(len(rows) + 2):  # Ctrl+→ walks only through the subcategories still shown
        QTest.keyClick(win, Qt.Key_Right, Qt.ControlModifier)
        assert win.playback.current_row in set(int(r) for r in rows)


def test_seek_slider_and_volume_reach_the_player(window, qtbot):
    win, player = window
    win.playback.play_row(0)
    win.player._tick()  # publish position/duration (30 s) to the bar
    bar = win.player_bar
    bar.seek.setValue(500)  # a keyboard / groove step: half-way
    assert player.calls[-1] == ("seek", pytest.approx(15.0))
    bar.volume.setValue(35)
    assert player.volume == pytest.approx(0.35) and win.settings.volume() == 35
