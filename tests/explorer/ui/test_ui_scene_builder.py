"""Map scenes built off the GUI thread: the newest request wins, stale results never reach the map, the window
says "updating…" while a slow build runs and stays responsive."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from explorer.analysis import (
    TrackFilter,
    build_map_scene,
    display,
    facet_counts,
)
from explorer.ui import map_items
from explorer.ui.scene_builder import SceneBuilder


def test_latest_request_wins_and_stale_results_are_dropped(qtbot):
    builder = SceneBuilder(sync_max_rows=0)
    gate = threading.Event()
    ran: list[int] = []
    got: list[tuple] = []
    builder.ready.connect(lambda gen, result: got.append((gen, result)))

    def job(i):
        def build():
            ran.append(i)
            if i == 0:
                assert gate.wait(10)
            return i * 10

        return build

    gens = [builder.request(job(i), 5000) for i in range(4)]
    assert builder.busy and got == []
    gate.set()
    qtbot.waitUntil(lambda: not builder.busy, timeout=10000)
    qtbot.wait(50)
    assert got == [(gens[-1], 30)]
    assert ran == [0, 3]  # requests 1 and 2 were replaced while 0 ran; 0's result was dropped

    # small inputs are built inline: delivered before request() returns, and a slow older build is dropped
    gate.clear()
    got.clear()
    builder.sync_max_rows = 100
    slow = builder.request(job(0), 5000)
    quick = builder.request(lambda: "inline", 10)
    assert got == [(quick, "inline")] and not builder.busy and slow < quick
    gate.set()
    qtbot.wait(100)
    assert got == [(quick, "inline")]
    builder.close()


def test_a_failing_build_reports_only_when_it_is_the_newest(qtbot):
    builder = SceneBuilder(sync_max_rows=0)
    failures: list = []
    builder.failed.connect(lambda gen, exc: failures.append((gen, str(exc))))

    def boom():
        raise ValueError("bad filter")

    gen = builder.request(boom, 5000)
    qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    assert failures == [(gen, "bad filter")] and not builder.busy
    builder.close()


def test_rapid_filter_changes_end_with_the_scene_of_the_last_request(window, qtbot, monkeypatch):
    win, _ = window
    arrays = win.library.arrays
    win.maps.scenes.sync_max_rows = 0  # the demo library is small: force the background path
    gate = threading.Event()
    built: list[TrackFilter] = []
    real = map_items.build_scene

    def gated(a, filt, k):
        built.append(filt)
        if len(built) == 1:
            assert gate.wait(20)  # the first build is still running while the other requests arrive
        return real(a, filt, k)

    monkeypatch.setattr(map_items, "build_scene", gated)
    drawn: list[int] = []
    win.maps.scenes.ready.connect(lambda gen, result: drawn.append(gen))
    counts = facet_counts(arrays)
    genres = [g for g, c in counts.genres.items() if 0 < c < 20]
    emotion = max(arrays.tag_names, key=lambda t: counts.emotions[t])
    assert len(genres) >= 2
    before = win.map.point_count()

    win.filters.set_selection(genres=[genres[0]])
    for g in genres[1:4]:
        win.filters.set_selection(genres=[g])
    last = dict(genres=[genres[0], genres[1]], emotions=[emotion], quadrants=[], k=2)
    win.filters.set_selection(**last)
    newest = win.maps.scenes.generation
    assert win.maps.scenes.busy and win.map.point_count() == before  # the old map stays until the new one is ready
    qtbot.waitUntil(lambda: win.map.updating_label.isVisible(), timeout=5000)  # the event loop keeps running
    gate.set()
    qtbot.waitUntil(lambda: not win.maps.scenes.busy and not win.map.updating_label.isVisible(), timeout=20000)

    assert drawn == [newest]  # no stale scene was ever drawn
    assert len(built) == 2  # the first build and the newest; requests queued in between were replaced
    filt = TrackFilter.of(genres=last["genres"], emotions=last["emotions"])
    expected = build_map_scene(arrays, filt, k=2)
    assert list(win.maps.scene.track_ids) == list(expected.track_ids) and win.maps.scene.k == 2
    assert win.map.point_count() == len(expected) == facet_counts(arrays, filt).total
    assert win.map.getPlotItem().getAxis("bottom").labelText == display.axis_title(expected, 0)
