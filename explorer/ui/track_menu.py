"""The right-click menu of a track (map point, table row): play, queue, like, teach, desktop actions."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QWidget

from explorer.analysis.display import track_title
from explorer.ui import desktop
from explorer.ui.taste import TEACH_KINDS


def track_menu(parent: QWidget, window, row: int, on_error: Callable[[str, str], None]) -> QMenu:
    """A menu for live `row`; `window` provides playback, taste and the arrays."""
    a = window.library.arrays
    path = a.paths[row]
    menu = QMenu(parent)
    menu.setTitle(track_title(a, row))
    liked = int(a.liked[row]) if len(a.liked) > row else 0

    def add(text: str, fn: Callable[[], None], tip: str = "") -> None:
        act = menu.addAction(text)
        act.setToolTip(tip or text)
        act.triggered.connect(lambda _=False: fn())

    def guarded(fn: Callable[[str], None], title: str) -> Callable[[], None]:
        def run() -> None:
            try:
                fn(path)
            except desktop.DesktopError as exc:
                on_error(title, str(exc))

        return run

    pc, taste = window.playback, window.taste
    add("Play", lambda: pc.play_row(row), "Play from the analysed excerpt")
    add("Play from the start", lambda: pc.play_row(row, from_start=True))
    add("Play next", lambda: pc.play_next(row), "Put it first in the queue")
    add("Add to queue", lambda: pc.add_to_queue([row]))
    menu.addSeparator()
    add("Remove like" if liked > 0 else "Like", lambda: taste.set_like_row(row, 0 if liked > 0 else 1))
    add("Remove dislike" if liked < 0 else "Dislike", lambda: taste.set_like_row(row, 0 if liked < 0 else -1))
    teach = menu.addMenu("Teach: this track is…")
    teach.setToolTip("Correct the emotion model for this track; the map updates")
    for kind, label in TEACH_KINDS.items():
        act = teach.addAction(label)
        act.triggered.connect(lambda _=False, k=kind: taste.teach(row, k))
    menu.addSeparator()
    add(
        "Show in file manager",
        guarded(desktop.reveal_in_file_manager, "Cannot show the file"),
        "Open the folder with the file selected",
    )
    add("Open in default player", guarded(desktop.open_in_default_player, "Cannot open the file"))
    add("Copy path", lambda: desktop.copy_path(path))
    return menu
