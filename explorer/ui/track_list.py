"""Track tables in the side panels: the audition queue (drag-selected region) and 'Recommended for you'.

`track_table`, `fill_tracks`, `panel_header` and `panel_layout` build every side panel (explorer.ui.panels too), so
the panels look and behave alike."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis.display import track_title
from explorer.analysis.recommend import Recommendation
from explorer.library.arrays import LibraryArrays
from explorer.ui import theme

PREVIEW_SECONDS = 10.0


def track_table(columns: list[str], name: str | None = None, fit_rest: bool = True) -> QTableWidget:
    """A read-only table, one row selected at a time; the first column stretches and, with `fit_rest`, the others
    fit their contents. With `name`: that accessible name and a tooltip saying how a track is played."""
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectRows)
    t.setSelectionMode(QAbstractItemView.SingleSelection)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    if fit_rest:
        for c in range(1, len(columns)):
            t.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeToContents)
    if name is not None:
        t.setAccessibleName(name)
        t.setToolTip(f"{name}: double-click (or Enter) plays a track")
    return t


def fill_tracks(table: QTableWidget, arrays: LibraryArrays | None, rows: Sequence[int]) -> None:
    """One table row a track of `rows`: its title in column 0, its artist in column 1."""
    table.setRowCount(len(rows))
    for i, r in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(track_title(arrays, r)))
        table.setItem(i, 1, QTableWidgetItem(arrays.artists[r]))


def panel_header(text: str, wrap: bool = True) -> QLabel:
    """The title line at the top of a side panel (styled by the theme's `panelTitle`)."""
    header = QLabel(text)
    header.setWordWrap(wrap)
    header.setObjectName("panelTitle")
    return header


def panel_layout(panel: QWidget, header: QLabel, table: QTableWidget) -> QVBoxLayout:
    """A side panel's column: `header`, then `table` taking the spare height; the caller adds what goes below."""
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(header)
    layout.addWidget(table, 1)
    return layout


class AuditionPanel(QWidget):
    """The tracks inside a drag-selected map region, played one after another as short previews."""

    play_requested = Signal(int, float)  # row, preview length in seconds
    save_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self.current = -1
        self.active = False
        self.header = panel_header("Shift-drag (or use the Select tool) on the map to audition a region")
        self.table = track_table(["Title", "Artist"])
        self.play_button = QPushButton("▶ Audition")
        self.prev_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.stop_button = QPushButton("■")
        self.save_button = QPushButton("Save as playlist…")
        for b, name, tip in (
            (self.play_button, "Audition", "Play 10 s of each track of the region in turn"),
            (self.prev_button, "Previous preview", "Previous track of the region"),
            (self.next_button, "Next preview", "Next track of the region"),
            (self.stop_button, "Stop audition", "Stop the audition"),
            (self.save_button, "Save region as playlist", "Save these tracks as an M3U8 playlist"),
        ):
            b.setAccessibleName(name)
            b.setToolTip(tip)
        for b in (self.prev_button, self.next_button, self.stop_button):
            b.setMaximumWidth(44)
        row = QHBoxLayout()
        for b in (self.play_button, self.prev_button, self.next_button, self.stop_button):
            row.addWidget(b)
        layout = panel_layout(self, self.header, self.table)
        layout.addLayout(row)
        layout.addWidget(self.save_button)
        self.play_button.clicked.connect(lambda: self.start(max(self.table.currentRow(), 0)))
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_requested)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.start(r))
        self._update_buttons()

    def set_tracks(self, arrays: LibraryArrays, rows: Sequence[int]) -> None:
        self.rows = [int(r) for r in rows]
        self.current, self.active = -1, False
        fill_tracks(self.table, arrays, self.rows)
        n = len(self.rows)
        self.header.setText(
            f"{n} track{'s' if n != 1 else ''} in the selected region — {PREVIEW_SECONDS:.0f} s previews"
        )
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = bool(self.rows)
        for b in (self.play_button, self.prev_button, self.next_button, self.save_button):
            b.setEnabled(has)
        self.stop_button.setEnabled(self.active)

    def start(self, index: int = 0) -> None:
        if not self.rows:
            return
        self.active = True
        self._go(index)

    def _go(self, index: int) -> None:
        if not 0 <= index < len(self.rows):
            self.stop()
            return
        self.current = index
        self.table.selectRow(index)
        self._update_buttons()
        self.play_requested.emit(self.rows[index], PREVIEW_SECONDS)

    def next(self) -> None:
        if self.rows:
            self.active = True
            self._go(self.current + 1 if self.current + 1 < len(self.rows) else 0)

    def previous(self) -> None:
        if self.rows:
            self.active = True
            self._go(max(self.current - 1, 0))

    def stop(self) -> None:
        was = self.active
        self.active = False
        self._update_buttons()
        if was:
            self.stop_requested.emit()

    def preview_finished(self) -> None:
        """The player reached the end of the current preview: move on, stop after the last one."""
        if self.active:
            if self.current + 1 < len(self.rows):
                self._go(self.current + 1)
            else:
                self.stop()


class RecommendPanel(QWidget):
    """'Recommended for you': what analysis.recommend returned for the current likes; double-click plays."""

    play_requested = Signal(int)  # row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self.header = panel_header("Like a few tracks (L) to get recommendations")
        self.table = track_table(["Title", "Artist", "Score"])
        panel_layout(self, self.header, self.table)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.play_requested.emit(self.rows[r]))

    def show(self, arrays: LibraryArrays, recs: Sequence[Recommendation], note: str) -> None:
        """List `recs` (best first) with their scores; each title's tooltip says why it was recommended."""
        self.rows = [int(r.index) for r in recs]
        self.header.setText(note)
        fill_tracks(self.table, arrays, self.rows)
        for i, r in enumerate(recs):
            self.table.item(i, 0).setToolTip(r.explanation)
            cell = QTableWidgetItem(f"{float(r.score):.2f}")
            cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            cell.setForeground(QColor(theme.ACCENT))
            self.table.setItem(i, 2, cell)
