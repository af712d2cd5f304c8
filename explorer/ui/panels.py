"""Side panels beside the recommendations: the play queue, the likes view (with undo) and the problems list."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis.display import track_title
from explorer.analysis.navigation import MODE_LABELS, PlayMode
from explorer.library.arrays import LibraryArrays


def _table(columns: list[str], name: str) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectRows)
    t.setSelectionMode(QAbstractItemView.SingleSelection)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    t.setAccessibleName(name)
    t.setToolTip(f"{name}: double-click (or Enter) plays a track")
    return t


def _button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setAccessibleName(text.strip("▶■✕ "))
    return b


class QueuePanel(QWidget):
    """What plays next: the queue, then the continuous-play mode (chosen here)."""

    play_requested = Signal(int)
    remove_requested = Signal(int)
    clear_requested = Signal()
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self.header = QLabel("The queue is empty: right-click a point ▸ Add to queue (or press Q)")
        self.header.setWordWrap(True)
        self.header.setObjectName("panelTitle")
        self.mode = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode.addItem(label, mode.value)
        self.mode.setAccessibleName("When a track ends")
        self.mode.setToolTip("What plays when a track ends and the queue is empty")
        self.table = _table(["Title", "Artist"], "Queue")
        self.remove_button = _button("Remove", "Take the selected track out of the queue")
        self.clear_button = _button("Clear", "Empty the queue")
        row = QVBoxLayout()
        row.addWidget(QLabel("When a track ends:"))
        row.addWidget(self.mode)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.table.cellActivated.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))
        self.table.cellDoubleClicked.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))
        self.remove_button.clicked.connect(self._remove_current)
        self.clear_button.clicked.connect(self.clear_requested)
        self.mode.currentIndexChanged.connect(lambda _i: self.mode_changed.emit(self.mode.currentData()))

    def set_mode(self, mode: PlayMode) -> None:
        self.mode.setCurrentIndex(max(self.mode.findData(PlayMode(mode).value), 0))

    def set_queue(self, arrays: LibraryArrays | None, rows: Sequence[int]) -> None:
        self.rows = [int(r) for r in rows]
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            self.table.setItem(i, 0, QTableWidgetItem(track_title(arrays, r)))
            self.table.setItem(i, 1, QTableWidgetItem(arrays.artists[r]))
        n = len(self.rows)
        self.header.setText(
            f"{n} track{'s' if n != 1 else ''} queued"
            if n
            else "The queue is empty: right-click a point ▸ Add to queue (or press Q)"
        )

    def _remove_current(self) -> None:
        r = self.table.currentRow()
        if 0 <= r < len(self.rows):
            self.remove_requested.emit(self.rows[r])


class LikesPanel(QWidget):
    """Liked and disliked tracks; Remove clears a mark, Undo takes back the last change."""

    play_requested = Signal(int)
    like_requested = Signal(int, int)  # row, value
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self.table = _table(["Title", "Artist", ""], "Liked and disliked tracks")
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.header = QLabel("")
        self.header.setObjectName("panelTitle")
        self.remove_button = _button("Remove mark", "Neither like nor dislike the selected track")
        self.undo_button = _button("Undo", "Take back the last like or dislike (Ctrl+Z)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.table.cellActivated.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))
        self.table.cellDoubleClicked.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))
        self.remove_button.clicked.connect(self._remove_current)
        self.undo_button.clicked.connect(self.undo_requested)

    def set_likes(self, arrays: LibraryArrays | None, can_undo: bool) -> None:
        liked = [] if arrays is None else [int(i) for i in (arrays.liked > 0).nonzero()[0]]
        disliked = [] if arrays is None else [int(i) for i in (arrays.liked < 0).nonzero()[0]]
        self.rows = liked + disliked
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            self.table.setItem(i, 0, QTableWidgetItem(track_title(arrays, r)))
            self.table.setItem(i, 1, QTableWidgetItem(arrays.artists[r]))
            mark = QTableWidgetItem("♥" if r in liked else "✕")
            mark.setToolTip("liked" if r in liked else "disliked")
            self.table.setItem(i, 2, mark)
        self.header.setText(f"{len(liked)} liked · {len(disliked)} disliked")
        self.undo_button.setEnabled(can_undo)

    def _remove_current(self) -> None:
        r = self.table.currentRow()
        if 0 <= r < len(self.rows):
            self.like_requested.emit(self.rows[r], 0)


class ProblemsPanel(QWidget):
    """Files of the library that could not be read, with the reason; Retry indexes them again."""

    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.failures: list[tuple[str, str]] = []
        self.header = QLabel("No problems: every file was read")
        self.header.setWordWrap(True)
        self.header.setObjectName("panelTitle")
        self.table = _table(["File", "Reason"], "Files that could not be read")
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.retry_button = _button("Retry", "Index the library again, trying these files once more")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.retry_button)
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
