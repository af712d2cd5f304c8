"""Issue 12 in the window (offscreen Qt, recording player): replay, continuous play and the queue, search, the
problems panel, the track menu, playlists, likes with undo, keyboard use, sizes, the seek bar, the status summary,
empty folders, star labels and readable descriptors. The real-window sound checks live in test_ui_xvfb.py."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit, QSlider

from explorer.analysis.navigation import PlayMode, nearest_unplayed
from explorer.ui import main_window as mw
from explorer.ui import map_items
from explorer.ui.main_window import MainWindow
from ui_helpers import RecordingPlayer, isolated_point, widget_pos


def _finish(player: RecordingPlayer) -> None:
    """The end of the track, reported on a foreign thread as the decoder does."""
    path = player.path
    player.path = None
    t = threading.Thread(target=player.on_finished, args=(path,))
    t.start()
    t.join()


class _Click:
    """The part of pyqtgraph's MouseClickEvent an item's mouseClickEvent reads."""

    def __init__(self, pos) -> None:
        self._pos, self.accepted = pos, False

    def button(self):
        return Qt.LeftButton

    def pos(self):
        return self._pos

    def accept(self) -> None:
        self.accepted = True

    def ignore(self) -> None:
        self.accepted = False

    def isAccepted(self) -> bool:
        return self.accepted


# -- defect 1: replay ---------------------------------------------------------------------------------------------
def test_clicking_the_ringed_and_the_liked_point_plays_it(window, qtbot):
    win, player = window
    i = isolated_point(win)
    row = int(win.map.drawn.rows[i])
    win.playback.select_row(row)  # ringed
    win.taste.set_like_row(row, 1)  # and pink-ringed on top
    assert len(win.map.drawn.likes.getData()[0]) == 1
    QTest.qWait(200)  # the marks are painted (pyqtgraph hit-tests a spot once it was drawn)
    x, y = map(float, win.map.drawn.coords[i])
    for mark in (win.map.drawn.ring, win.map.drawn.likes):  # pyqtgraph offers a click to the topmost item first
        click = _Click(mark.mapFromView(QPointF(x, y)))
        mark.opts["useCache"] = False  # hit-test by symbol size, whether or not the spot was painted yet
        mark.mouseClickEvent(click)
        mark.opts["useCache"] = True
        assert not click.accepted, type(mark).__name__  # a mark must pass the click on to the point below
    pos = widget_pos(win, *win.map.drawn.coords[i])
    n = len(player.plays())
    QTest.mouseMove(win.map.viewport(), pos + QPoint(3, 0))  # as a hand would: hover first, then click
    QTest.qWait(100)
    QTest.mouseMove(win.map.viewport(), pos)
    QTest.qWait(100)
    qtbot.mouseClick(win.map.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(player.plays()) > n, timeout=3000)
    assert player.plays()[-1][1] == win.library.arrays.paths[row]
    win.playback.set_mode(PlayMode.STOP)
    _finish(player)  # the track ended: clicking it again plays it again
    qtbot.waitUntil(lambda: player.path is None, timeout=3000)
    qtbot.mouseClick(win.map.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(player.plays()) > n + 1, timeout=3000)
    assert player.plays()[-1][1] == win.library.arrays.paths[row]


def test_space_and_play_button_play_the_selected_track_when_nothing_plays(window, qtbot):
    win, player = window
    star = win.maps.representatives()[0]
    assert win.playback.current_row == star and not player.plays()  # pre-selected at launch, silent
    win.map.setFocus()
    QTest.keyClick(win.map, Qt.Key_Space)
    assert player.plays()[-1][1] == win.library.arrays.paths[star]
    win.playback.set_mode(PlayMode.STOP)
    _finish(player)
    qtbot.waitUntil(lambda: win.player.backend.path is None, timeout=3000)
    win.player_bar.play_button.click()  # ▶ after the end: plays it again
    assert len(player.plays()) == 2 and player.plays()[-1][1] == win.library.arrays.paths[star]


# -- defect 2 + continuous play and the queue --------------------------------------------------------------------
def test_the_next_track_plays_when_one_ends_in_each_mode(window, qtbot):
    win, player = window
    pts = win.maps.points()
    first = int(pts.rows[0])
    win.playback.set_mode(PlayMode.DRIFT)
    win.playback.play_row(first)
    want = nearest_unplayed(pts, first, [first])
    _finish(player)
    qtbot.waitUntil(lambda: player.plays()[-1][1] == win.library.arrays.paths[want], timeout=3000)
    # drift never goes back to a track already played while unplayed ones remain
    played = {first, want}
    for _ in range(5):
        _finish(player)
        qtbot.waitUntil(lambda: len(player.plays()) > len(played), timeout=3000)
        row = win.library.arrays.paths.index(player.plays()[-1][1])
        assert row not in played
        played.add(row)

    win.playback.set_mode(PlayMode.CLUSTER)
    cluster = pts.clusters[pts.index_of(row)]
    _finish(player)
    qtbot.waitUntil(lambda: len(player.plays()) > len(played), timeout=3000)
    nxt = win.library.arrays.paths.index(player.plays()[-1][1])
    same = set(int(r) for r in pts.rows[pts.clusters == cluster])
    assert nxt in same or len(same) == 1

    # the queue comes first, in order; "play next" jumps it
    a, b, c = (int(r) for r in pts.rows[:3])
    win.playback.add_to_queue([a, b])
    win.playback.play_next(c)
    assert win.queue_panel.rows == [c, a, b] and win.queue_panel.table.rowCount() == 3
    heard = []
    for _ in range(3):
        n = len(player.plays())
        _finish(player)
        qtbot.waitUntil(lambda n=n: len(player.plays()) > n, timeout=3000)
        heard.append(win.library.arrays.paths.index(player.plays()[-1][1]))
    assert heard == [c, a, b] and win.queue_panel.rows == []

    win.playback.set_mode(PlayMode.STOP)
    n = len(player.plays())
    _finish(player)
    QTest.qWait(100)
    assert len(player.plays()) == n  # "stop after each track" stops


def test_play_from_start_and_from_the_excerpt(window):
    win, player = window
    row = int(win.map.drawn.rows[0])
    win.playback.select_row(row)
    win.playback.play_selected_from_start()
    assert player.plays()[-1][2] == 0.0
    win.playback.play_selected()
    assert player.plays()[-1][2] == pytest.approx(float(win.library.arrays.excerpt_starts[row]))


# -- search ---------------------------------------------------------------------------------------------------------
def test_search_highlights_and_centres_matches(window, qtbot):
    win, player = window
    a = win.library.arrays
    i = next(i for i, p in enumerate(a.paths) if "wesnoth_sad" in p)
    QTest.keyClick(win, Qt.Key_F, Qt.ControlModifier)
    assert win.search_field.hasFocus()
    win.map.viewbox.setRange(xRange=(1e3, 1e3 + 1), yRange=(1e3, 1e3 + 1), padding=0)  # look elsewhere first
    QTest.keyClicks(win.search_field, "SAD")
    assert win.search.rows == [i]
    xy = win.map.matches.getData()
    assert len(xy[0]) == 1
    (x0, x1), (y0, y1) = win.map.viewbox.viewRange()
    px, py = win.map.point_of_row(win.maps.to_drawn(i))
    assert x0 < px < x1 and y0 < py < y1  # centred: in view again
    QTest.keyClick(win.search_field, Qt.Key_Return)
    assert player.plays()[-1][1] == a.paths[i]
    QTest.keyClicks(win.search_field, " zzz-nothing")
    assert win.search.rows == [] and len(win.map.matches.getData()[0]) == 0


# -- defect 3: problems panel ---------------------------------------------------------------------------------------
def test_files_that_fail_are_listed_with_the_reason_and_survive_a_relaunch(
    qtbot, indexed, tmp_path, demo_files, caplog
):
    _, _, model_dir = indexed
    library = tmp_path / "lib"
    library.mkdir()
    for f in demo_files[:2]:
        shutil.copy(f, library)
    (library / "broken.mp3").write_bytes(b"ID3" + b"\0" * 64 + b"not audio at all" * 50)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)

    def make() -> MainWindow:
        w = MainWindow(
            player=RecordingPlayer(),
            settings=settings,
            cache_dir=tmp_path / "cache",
            model_loader=lambda: (str(model_dir), None),
            index_workers=1,
        )
        qtbot.addWidget(w)
        return w

    win = make()
    with qtbot.waitSignal(win.library.index_finished, timeout=120000):
        win.open_library(library)
    failures = win.problems.failures
    assert [Path(p).name for p, _ in failures] == ["broken.mp3"] and failures[0][1]
    assert win.problems.table.item(0, 1).text() == failures[0][1]
    assert "Problems" in win.index_status.label.text() and "see the log" not in win.index_status.label.text()
    win.close()
    assert any("broken.mp3" in r.getMessage() for r in caplog.records)  # and the log names it
    again = make()
    with qtbot.waitSignal(again.library.index_finished, timeout=120000):
        again.open_library(library)  # a relaunch: the file is not retried, yet still counted and listed
    assert "1 could not be read (View ▸ Problems)" in again.index_status.label.text()
    assert [Path(p).name for p, _ in again.problems.failures] == ["broken.mp3"]
    again.problems.retry_button.click()
    assert again.library.is_indexing() or again.library.worker is not None
    qtbot.waitUntil(lambda: not again.library.is_indexing(), timeout=120000)
    again.close()


# -- the track menu, teach, desktop ---------------------------------------------------------------------------------
def test_right_click_on_a_point_opens_its_menu(window, qtbot, monkeypatch):
    from explorer.ui import track_menu as tm

    win, player = window
    menus = []
    real = tm.track_menu

    def spy(*args):
        menu = real(*args)
        menus.append((args[2], menu))
        monkeypatch.setattr(menu, "popup", lambda pos: None)
        return menu

    monkeypatch.setattr(mw, "track_menu", spy)
    i = isolated_point(win)
    row = int(win.map.drawn.rows[i])
    qtbot.mouseClick(win.map.viewport(), Qt.RightButton, pos=widget_pos(win, *win.map.drawn.coords[i]))
    assert menus and menus[0][0] == row
    menu = menus[0][1]
    texts = [a.text() for a in menu.actions() if a.text()]
    for want in (
        "Play",
        "Play from the start",
        "Play next",
        "Add to queue",
        "Like",
        "Dislike",
        "Show in file manager",
        "Open in default player",
        "Copy path",
    ):
        assert want in texts, texts
    teach = next(a.menu() for a in menu.actions() if a.menu() is not None)
    assert [a.text().split(" (")[0] for a in teach.actions()] == [
        "More energetic",
        "Calmer",
        "It is Q1",
        "It is Q2",
        "It is Q3",
        "It is Q4",
    ]
    next(a for a in menu.actions() if a.text() == "Copy path").trigger()
    assert QApplication.clipboard().text() == win.library.arrays.paths[row]
    next(a for a in menu.actions() if a.text() == "Play next").trigger()
    assert win.playback.queue.rows[0] == row
    next(a for a in menu.actions() if a.text() == "Like").trigger()
    assert int(win.library.arrays.liked[row]) == 1


def test_show_in_file_manager_selects_the_file_over_dbus_or_says_why(window, tmp_path):
    from explorer.ui import desktop

    win, _ = window
    path = win.library.arrays.paths[0]
    try:  # no session bus in this process, or one without FileManager1: a clear error, never silence
        desktop.reveal_in_file_manager(path)
    except desktop.DesktopError as exc:
        assert str(Path(path).parent) in str(exc)
    else:
        pass  # a real file manager answered (a developer desktop)
    with pytest.raises(desktop.DesktopError, match="no longer exists"):
        desktop.reveal_in_file_manager(tmp_path / "gone.mp3")


# -- playlists, likes view ------------------------------------------------------------------------------------------
def test_playlists_round_trip_queue_and_highlight(window, tmp_path, qtbot):
    win, player = window
    rows = [int(r) for r in win.map.drawn.rows[:3]]
    win.playback.add_to_queue(rows)
    out = win.browser.write_playlist(tmp_path / "q.m3u8", win.browser.queue_rows())
    win.playback.clear_queue()
    assert win.queue_panel.rows == []
    got = win.browser.open_playlist(out)
    assert got == rows and win.playback.queue.rows == rows and win.queue_panel.rows == rows
    assert len(win.map.matches.getData()[0]) == 3 and win.tabs.currentWidget() is win.queue_panel


def test_likes_view_lists_marks_and_undoes(window):
    win, _ = window
    a = win.library.arrays
    win.taste.set_like_row(0, 1)
    win.taste.set_like_row(1, -1)
    assert win.likes_panel.rows == [0, 1] and win.likes_panel.table.item(1, 2).text() == "✕"
    win.likes_panel.undo_button.click()
    assert int(a.liked[1]) == 0 and win.likes_panel.rows == [0]
    win.likes_panel.table.setCurrentCell(0, 0)
    win.likes_panel.remove_button.click()
    assert int(a.liked[0]) == 0 and win.likes_panel.rows == []
    win.likes_panel.undo_button.click()
    assert int(a.liked[0]) == 1


# -- keyboard (defect 6 and arrow navigation) -----------------------------------------------------------------------
def test_space_ticks_a_genre_when_the_list_has_focus(window, qtbot):
    win, player = window
    lst = win.filters.genres
    visible = [i for i in range(lst.count()) if not lst.item(i).isHidden()]
    lst.setFocus()
    lst.setCurrentRow(visible[0])
    n = len(player.calls)
    QTest.keyClick(lst, Qt.Key_Space)
    assert lst.item(visible[0]).checkState() == Qt.Checked
    assert len(player.calls) == n and not player.plays()  # Space did not reach play/pause
    QTest.keyClick(lst, Qt.Key_Down)
    assert lst.currentRow() != visible[0]  # arrows move in the list, not on the map


def test_arrow_keys_move_to_the_nearest_point_in_that_direction(window):
    win, player = window
    win.map.setFocus()
    drawn = win.map.drawn
    start = int(drawn.rows[np.argmin(drawn.coords[:, 0])])  # the leftmost point
    win.playback.select_row(win.maps.to_live([start])[0])
    QTest.keyClick(win.map, Qt.Key_Right)
    moved = win.maps.to_drawn(win.playback.current_row)
    assert moved != start and win.map.point_of_row(moved)[0] > win.map.point_of_row(start)[0]
    QTest.keyClick(win.map, Qt.Key_Left)
    back = win.maps.to_drawn(win.playback.current_row)
    assert win.map.point_of_row(back)[0] < win.map.point_of_row(moved)[0]
    assert not player.plays()  # moving only selects
    QTest.keyClick(win.map, Qt.Key_Return)
    assert player.plays()[-1][1] == win.library.arrays.paths[win.playback.current_row]


def test_every_control_has_an_accessible_name_or_tooltip(window):
    win, _ = window
    missing = []
    for w in [w for kind in (QAbstractButton, QComboBox, QLineEdit, QSlider) for w in win.findChildren(kind)]:
        if w.isVisibleTo(win) and not (w.accessibleName() or w.toolTip() or getattr(w, "text", lambda: "")()):
            missing.append(f"{type(w).__name__} {w.objectName()}")
    assert not missing, missing
    for act in win.actions_by_key.values():
        assert act.toolTip() and act.statusTip(), act.text()


# -- defect 4, 5, 7, 8 ------------------------------------------------------------------------------------------------
def test_window_fits_small_screens_and_the_seek_bar_keeps_its_size(window, qtbot):
    win, _ = window
    hint = win.minimumSizeHint().expandedTo(win.minimumSize())
    assert hint.width() <= 960 and hint.height() <= 660, hint  # it was 1134 x 665
    win.resize(1024, 700)
    QTest.qWait(50)
    assert win.player_bar.seek.width() >= 120
    free = win.screen().availableGeometry()
    fresh = MainWindow(
        player=RecordingPlayer(),
        settings=QSettings(str(win.settings.q.fileName()) + "-2", QSettings.IniFormat),
        cache_dir=win.library.cache_dir,
    )
    qtbot.addWidget(fresh)
    assert fresh.width() <= free.width() and fresh.height() <= free.height()
    fresh.close()


def test_seek_bar_jumps_to_the_click(window, qtbot):
    win, player = window
    win.playback.play_row(0)
    win.player._tick()  # duration 30 s reaches the bar
    bar = win.player_bar.seek
    bar.resize(400, bar.height())
    qtbot.mouseClick(bar, Qt.LeftButton, pos=QPoint(int(bar.width() * 0.75), bar.height() // 2))
    seeks = [c for c in player.calls if c[0] == "seek"]
    assert seeks and seeks[0][1] == pytest.approx(0.75 * 30.0, abs=1.5)


def test_status_summary_comes_back_after_a_temporary_message(window, qtbot):
    win, _ = window
    summary = win.summary.text()
    assert "tracks" in summary and win.summary.isVisible()
    win.statusBar().showMessage("Saved 3 tracks to x.m3u8", 150)
    assert not win.summary.isVisible()
    qtbot.waitUntil(lambda: win.summary.isVisible(), timeout=3000)
    assert win.summary.text() == summary


def test_an_empty_folder_says_so_and_is_not_reopened(window, tmp_path):
    win, _ = window
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no music here")
    before = win.settings.last_library()
    win.open_library(empty)
    assert "No audio files" in win.map._empty_text.toPlainText()
    assert win.settings.last_library() == before and str(empty.resolve()) not in win.settings.recent_libraries()
    assert not win.library.is_indexing()


# -- defects 9, 10, 11 ---------------------------------------------------------------------------------------------
def test_star_labels_do_not_cover_points(window):
    win, _ = window
    plot = win.map.getPlotItem()
    assert map_items.labels_covering_points(plot, win.map.drawn) == 0


def test_descriptors_are_readable(window, qtbot):
    win, _ = window
    from core.features.interpretive import descriptor_table

    specs = {d.name: d for d in descriptor_table()}
    table = win.details.descriptors
    a = win.library.arrays
    for i, name in enumerate(a.descriptor_names):
        item = table.item(i, 0)
        assert item.text() == f"{specs[name].low_pole} ↔ {specs[name].high_pole}"
        assert specs[name].doc in item.toolTip()
    for name in ("bottom", "left"):
        tip = win.map.getPlotItem().getAxis(name).toolTip()
        assert not any(n in tip for n in a.descriptor_names if "_" in n), tip  # no internal names
    # a two-track map: no "(x1e-09)" scale on an axis
    genre = next(g for g, c in zip(a.genre_names, a.genres.sum(axis=0)) if c >= 2) if a.genres.any() else None
    rows = [0, 1]
    win._on_region(win.maps.to_drawn(r) for r in rows) if False else None

    win.filters.set_selection(genres=[genre] if genre else [])
    for name in ("bottom", "left"):
        axis = win.map.getPlotItem().getAxis(name)
        assert not axis.autoSIPrefix and "x1e" not in axis.labelString()


def test_mute_and_window_icon_and_dropping_a_file(window, monkeypatch, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    win, player = window
    win.player_bar.set_volume_percent(60)
    win.player_bar.mute_button.click()
    assert player.volume == 0.0 and win.player_bar.volume.value() == 60
    win.player_bar.mute_button.click()
    assert player.volume == pytest.approx(0.6)
    QTest.keyClick(win, Qt.Key_M)
    assert player.volume == 0.0 and win.player_bar.muted
    assert not win.windowIcon().isNull()
    infos = []
    monkeypatch.setattr(mw, "show_info", lambda parent, title, msg: infos.append((title, msg)))
    song = tmp_path / "song.mp3"
    song.write_bytes(b"x")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(song))])
    win.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier))
    assert infos and "song.mp3" in infos[0][1]


def test_last_track_and_position_are_remembered(window, qtbot, indexed):
    win, player = window
    row = int(win.map.drawn.rows[-1])
    win.playback.play_row(row)
    player.position = 12.5
    library = win.library.root
    settings, cache = win.settings.q, win.library.cache_dir
    win.close()
    again = MainWindow(player=RecordingPlayer(), settings=settings, cache_dir=cache)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    again.open_library(library, index=False)
    assert again.playback.current_row == row
    from explorer.ui.actions import Act

    again.actions_by_key[Act.PLAY_PAUSE].trigger()  # Space: resumes where it was
    assert again.player.backend.plays()[-1][1:3] == (again.library.arrays.paths[row], pytest.approx(12.5))
    again.close()


def test_teach_from_the_details_panel_and_the_menu_stores_a_correction_and_reloads(window, qtbot, monkeypatch):
    from explorer.library import teaching
    from explorer.library.cache import LibraryCache

    win, _ = window
    row = int(win.map.drawn.rows[0])
    win.playback.select_row(row)
    before = win.library.arrays
    q3 = win.details.teach_buttons["Q3"]
    assert q3.isEnabled() and "Q3" in q3.toolTip()
    q3.click()
    assert win.library.arrays is not before and win.library.arrays.corrections_applied == 1
    assert int(np.argmax(win.library.arrays.quadrant_probs[row])) == 2  # the map now shows it as Q3
    from explorer.ui import track_menu as tm

    menu = tm.track_menu(win, win, row, lambda t, m: None)
    teach = next(a.menu() for a in menu.actions() if a.menu() is not None)
    next(a for a in teach.actions() if a.text() == "Calmer").trigger()
    with LibraryCache.open(win.library.root, win.library.cache_dir) as cache:
        kinds = [(Path(c.path).name, c.kind) for c in teaching.list_corrections(cache)]
    name = Path(win.library.arrays.paths[row]).name
    assert kinds == [(name, "Q3"), (name, "calmer")]
    assert "Calmer" in win.statusBar().currentMessage()


def test_docs_list_every_action_with_its_shortcut(window):
    """docs/ui.md's table names every registered action and its shortcut, and nothing the code lacks."""
    from PySide6.QtGui import QKeySequence

    from explorer.ui.actions import ACTIONS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "ui.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "▸" in cells[0]:
            rows[cells[0]] = cells[1]
    for spec in ACTIONS:
        name = f"{spec.menu.replace('&', '')} ▸ {spec.text.replace('&', '')}"
        assert name in rows, name
        if spec.shortcut is not None:
            key = QKeySequence(spec.shortcut).toString(QKeySequence.PortableText)
            assert rows[name].split(", ")[0] == key, (name, rows[name], key)
    documented = set(rows) - {"File ▸ Recent libraries", "menu ▸ action"}
    assert documented == {f"{s.menu.replace('&', '')} ▸ {s.text.replace('&', '')}" for s in ACTIONS}


# -- media keys (as Qt delivers them to the window when the platform does) -----------------------------------------
def test_media_keys_play_pause_and_step_to_the_next_track(window, qtbot):
    win, player = window
    star = win.maps.representatives()[0]
    win.map.setFocus()
    QTest.keyClick(win.map, Qt.Key_MediaTogglePlayPause)  # nothing playing: plays the selected star
    assert player.plays()[-1][1] == win.library.arrays.paths[star]
    QTest.keyClick(win.map, Qt.Key_MediaTogglePlayPause)  # playing: pauses
    assert player.is_paused
    QTest.keyClick(win.map, Qt.Key_MediaPlay)
    assert not player.is_paused
    n = len(player.plays())
    QTest.keyClick(win.map, Qt.Key_MediaNext)  # the next track of the current play mode starts
    qtbot.waitUntil(lambda: len(player.plays()) == n + 1, timeout=3000)
    assert player.plays()[-1][1] != win.library.arrays.paths[star]
