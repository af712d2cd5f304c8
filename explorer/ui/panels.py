"""Side panels beside the recommendations: the play queue, the likes view (with undo) and the problems list."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis.navigation import MODE_LABELS, PlayMode
from explorer.library.arrays import LibraryArrays
from explorer.ui.track_list import fill_tracks, panel_header, panel_layout, track_table


def _button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setAccessibleName(text.strip("▶■✕ "))
    return b


class _TrackListPanel(QWidget):
    """A panel listing tracks (`rows`) in `table`: Enter or a double-click on a row asks to play that track."""

    play_requested = Signal(int)

    def __init__(self, columns: list[str], name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self.table = track_table(columns, name, fit_rest=False)
        for activated in (self.table.cellActivated, self.table.cellDoubleClicked):
            activated.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))

    def _selected(self) -> int | None:
        """The track of the table's current row, if there is one."""
        r = self.table.currentRow()
        return self.rows[r] if 0 <= r < len(self.rows) else None


class QueuePanel(_TrackListPanel):
    """What plays next: the queue, then the continuous-play mode (chosen here)."""

    remove_requested = Signal(int)
    clear_requested = Signal()
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(["Title", "Artist"], "Queue", parent)
        self.header = panel_header("The queue is empty: right-click a point ▸ Add to queue (or press Q)")
        self.mode = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode.addItem(label, mode.value)
        self.mode.setAccessibleName("When a track ends")
        self.mode.setToolTip("What plays when a track ends and the queue is empty")
        self.remove_button = _button("Remove", "Take the selected track out of the queue")
        self.clear_button = _button("Clear", "Empty the queue")
        row = QVBoxLayout()
        row.addWidget(QLabel("When a track ends:"))
        row.addWidget(self.mode)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        layout = panel_layout(self, self.header, self.table)
        layout.insertLayout(0, row)
        layout.addLayout(buttons)
        self.remove_button.clicked.connect(self._remove_current)
        self.clear_button.clicked.connect(self.clear_requested)
        self.mode.currentIndexChanged.connect(lambda _i: self.mode_changed.emit(self.mode.currentData()))

    def set_mode(self, mode: PlayMode) -> None:
        self.mode.setCurrentIndex(max(self.mode.findData(PlayMode(mode).value), 0))

    def set_queue(self, arrays: LibraryArrays | None, rows: Sequence[int]) -> None:
        self.rows = [int(r) for r in rows]
        fill_tracks(self.table, arrays, self.rows)
        n = len(self.rows)
        self.header.setText(
            f"{n} track{'s' if n != 1 else ''} queued"
            if n
            else "The queue is empty: right-click a point ▸ Add to queue (or press Q)"
        )

    def _remove_current(self) -> None:
        if (track := self._selected()) is not None:
            self.remove_requested.emit(track)


class LikesPanel(_TrackListPanel):
    """Liked and disliked tracks; Remove clears a mark, Undo takes back the last change."""

    like_requested = Signal(int, int)  # row, value
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(["Title", "Artist", ""], "Liked and disliked tracks", parent)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.header = panel_header("", wrap=False)
        self.remove_button = _button("Remove mark", "Neither like nor dislike the selected track")
        self.undo_button = _button("Undo", "Take back the last like or dislike (Ctrl+Z)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.undo_button)
        panel_layout(self, self.header, self.table).addLayout(buttons)
        self.remove_button.clicked.connect(self._remove_current)
        self.undo_button.clicked.connect(self.undo_requested)

    def set_likes(self, arrays: LibraryArrays | None, can_undo: bool) -> None:
        liked = [] if arrays is None else [int(i) for i in (arrays.liked > 0).nonzero()[0]]
        disliked = [] if arrays is None else [int(i) for i in (arrays.liked < 0).nonzero()[0]]
        self.rows = liked + disliked
        fill_tracks(self.table, arrays, self.rows)
        for i, r in enumerate(self.rows):
            mark = QTableWidgetItem("♥" if r in liked else "✕")
            mark.setToolTip("liked" if r in liked else "disliked")
            self.table.setItem(i, 2, mark)
        self.header.setText(f"{len(liked)} liked · {len(disliked)} disliked")
        self.undo_button.setEnabled(can_undo)

    def _remove_current(self) -> None:
        if (track := self._selected()) is not None:
            self.like_requested.emit(track, 0)


class ProblemsPanel(QWidget):
    """Files of the library that could not be read, with the reason; Retry indexes them again."""

    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.failures: list[tuple[str, str]] = []
        self.header = panel_header("No problems: every file was read")
        self.table = track_table(["File", "Reason"], "Files that could not be read", fit_rest=False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.retry_button = _button("Retry", "Index the library again, trying these files once more")
        panel_layout(self, self.header, self.table).addWidget(self.retry_button)
        self.retry_button.clicked.connect(self.retry_requested)
        self.set_failures([])

    def set_failures(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = [(str(p), str(r)) for p, r in failures]
        self.table.setRowCount(len(self.failures))
        for i, (path, reason) in enumerate(self.failures):
            item = QTableWidgetItem(path.rsplit("/", 1)[-1])
            item.setToolTip(path)
            self.table.setItem(i, 0, item)
            why = QTableWidgetItem(reason or "unknown reason")
            why.setToolTip(reason)
            self.table.setItem(i, 1, why)
        n = len(self.failures)
        self.header.setText(
            f"{n} file{'s' if n != 1 else ''} could not be read" if n else "No problems: every file was read"
        )
        self.retry_button.setEnabled(bool(n))


class PanelSwitch:
    """Which side tab is in front (View menu)."""

    def __init__(self, tabs: QTabWidget, queue: QWidget, likes: QWidget, problems: QWidget) -> None:
        self.tabs, self.queue, self.likes, self.problems = tabs, queue, likes, problems

    def show_queue(self) -> None:
        self.tabs.setCurrentWidget(self.queue)

    def show_likes(self) -> None:
        self.tabs.setCurrentWidget(self.likes)

    def show_problems(self) -> None:
        self.tabs.setCurrentWidget(self.problems)
