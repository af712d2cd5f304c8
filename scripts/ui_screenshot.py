"""Render docs/screenshot.png: the explorer on an indexed library, a track playing, two likes, recommendations.

Usage: python scripts/ui_screenshot.py LIBRARY [--cache DIR] [--out docs/screenshot.png] [--size 1500x920]
The library must be indexed already (`qfx index LIBRARY`). Likes are set on a throw-away copy of the cache.
Run it under a real X server (or Xvfb) for the true look; without DISPLAY it renders offscreen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


class StillPlayer:
    """Looks like a track 12 s into playback; makes no sound."""

    def __init__(self) -> None:
        self.on_finished = self.on_error = None
        self.path = None
        self.position, self.duration, self.is_paused, self.volume = 12.0, 30.0, False, 0.8
        self.is_playing = True

    def play(self, path, start=0.0, duration=None):
        self.path, self.position = str(path), float(start) + 12.0

    def pause(self):
        self.is_paused = True

    def resume(self):
        self.is_paused = False

    def seek(self, seconds):
        self.position = seconds

    def set_volume(self, volume):
        self.volume = volume

    def set_device(self, device):
        pass

    def stop(self):
        self.path = None

    def close(self):
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("library", type=Path)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--size", default="1500x920")
    parser.add_argument("--likes", type=int, default=2, help="how many representatives to like")
    parser.add_argument("--k", type=int, default=None, help="subcategories (default: auto)")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QPoint, QPointF, QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QToolTip

    from explorer.library.cache import LibraryCache, default_cache_dir, library_db_name
    from explorer.ui import theme
    from explorer.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="qfx-shot-"))
    try:
        source = (args.cache or default_cache_dir()) / library_db_name(args.library)
        if not source.exists():
            print(f"{args.library} is not indexed in {source.parent}: run `qfx index` first", file=sys.stderr)
            return 1
        with LibraryCache.open(args.library, args.cache) as cache:  # fold the WAL into the DB before copying
            cache.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(source, tmp / source.name)

        app = QApplication(sys.argv[:1])
        app.setApplicationName("QuadFusion Explorer")
        theme.apply(app, "dark")
        w, h = (int(v) for v in args.size.split("x"))
        win = MainWindow(
            player=StillPlayer(), settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), cache_dir=tmp
        )
        win.resize(w, h)
        win.show()
        QTest.qWait(300)
        win.open_library(args.library, index=False)
        if args.k is not None:
            win.filters.set_selection(k=args.k)
        QTest.qWait(300)
        reps = win.maps.representatives()
        playing = reps[-1]
        for row in [playing, *reps[: max(args.likes - 1, 0)]]:  # the playing track is one of the liked ones
            win.playback.select_row(row)
            win.taste.like_current()
        win.playback.play_row(playing)
        win.playback.add_to_queue([r for r in reps if r != playing][:2])
        QTest.qWait(600)
        win.index_status.finish(f"Library up to date: {len(win.library.arrays)} tracks")
        win.statusBar().clearMessage()  # the map summary, not the last note
        QTest.qWait(200)

        # a hover tooltip on a non-representative point, as the mouse would show it
        def pixel(row: int) -> QPoint:
            x, y = win.map.point_of_row(row)
            return win.map.mapFromScene(win.map.viewbox.mapViewToScene(QPointF(x, y)))

        others = [int(r) for r in win.map.drawn.rows if int(r) not in reps]
        right_edge = win.map.width() * 0.7  # the tooltip opens to the right: keep it on the map

        def room(row: int) -> float:  # free space around a point (its tooltip must hide nothing important)
            p = pixel(row)
            gaps = [(p - pixel(int(r))).manhattanLength() for r in win.map.drawn.rows if int(r) != row]
            return min(gaps, default=0.0) if p.x() < right_edge else -1.0

        if others:
            hover = max(others, key=room)
            pos = pixel(hover)
            QToolTip.showText(win.map.mapToGlobal(pos) + QPoint(12, 8), win.maps.tooltip(hover), win.map)
            QTest.qWait(400)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        geo = win.frameGeometry()
        shot = app.primaryScreen().grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        if shot.isNull() or not os.environ.get("DISPLAY"):  # offscreen: no screen to grab, render the window
            shot = win.grab()
        shot.save(str(args.out), "PNG")
        print(f"wrote {args.out}")
        win.close()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
