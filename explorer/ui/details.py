"""Details of the selected track: tags, its 12 emotion scores as bars, descriptors, like/dislike, reveal."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.features.interpretive import DescriptorSpec, descriptor_table
from explorer.analysis import display
from explorer.analysis.ranks import descriptor_percentiles
from explorer.library.arrays import LibraryArrays
from explorer.ui import theme
from explorer.ui.taste import TEACH_KINDS


def _descriptor_docs() -> dict[str, DescriptorSpec]:
    return {d.name: d for d in descriptor_table()}


class TrackDetails(QWidget):
    like_requested = Signal(int, int)  # track id, +1 / -1 / 0
    teach_requested = Signal(int, str)  # row, correction kind (taste.TEACH_KINDS)
    reveal_requested = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._arrays: LibraryArrays | None = None
        self._row: int | None = None
        self.title = QLabel("No track selected")
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        self.subtitle = QLabel("")
        self.subtitle.setWordWrap(True)
        self.subtitle.setObjectName("detailsSubtitle")

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(150)
        self.plot.getPlotItem().setTitle("Emotion scores")
        self.plot.getAxis("bottom").setLabel("score (softmax over the 12 tags)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.getAxis("left").setWidth(96)
        self.plot.getAxis("left").setStyle(tickLength=0)
        self.bars: pg.BarGraphItem | None = None

        self.like_button = QPushButton("♥ Like (L)")
        self.like_button.setCheckable(True)
        self.dislike_button = QPushButton("✕ Dislike (D)")
        self.dislike_button.setCheckable(True)
        self.like_button.setToolTip("Like this track (L); recommendations follow your likes")
        self.dislike_button.setToolTip("Dislike this track (D)")
        self.reveal_button = QPushButton("Show in file manager")
        self.reveal_button.setToolTip("Open the track's folder with the file selected")
        self.teach_buttons: dict[str, QPushButton] = {}
        for kind, label in TEACH_KINDS.items():
            b = QPushButton(label.split(" (")[0])
            b.setToolTip(f"Teach the model: {label}. The correction is stored and the map updates.")
            b.setAccessibleName(f"Teach: {label}")
            b.clicked.connect(lambda _=False, k=kind: self._teach(k))
            self.teach_buttons[kind] = b
        for b in (self.like_button, self.dislike_button, self.reveal_button, *self.teach_buttons.values()):
            b.setEnabled(False)

        self.descriptors = QTableWidget(0, 2)
        self.descriptors.setHorizontalHeaderLabels(["Sounds", "Percentile"])
        self.descriptors.setAccessibleName("How this track sounds compared with the library")
        self.descriptors.setToolTip(
            "Each row: where this track sits between two poles, as a percentile of the "
            "library (0 = the most 'low pole' track, 100 = the most 'high pole')"
        )
        self.descriptors.verticalHeader().setVisible(False)
        self.descriptors.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.descriptors.setEditTriggers(QTableWidget.NoEditTriggers)
        self.descriptors.setSelectionMode(QTableWidget.NoSelection)

        buttons = QHBoxLayout()
        buttons.addWidget(self.like_button)
        buttons.addWidget(self.dislike_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(buttons)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.descriptors, 4)
        teach = QGridLayout()
        teach.addWidget(QLabel("Teach: this track is…"), 0, 0, 1, 3)
        for i, b in enumerate(self.teach_buttons.values()):
            teach.addWidget(b, 1 + i // 3, i % 3)
        layout.addLayout(teach)
        layout.addWidget(self.reveal_button)

        self.like_button.clicked.connect(lambda: self._emit_like(+1, self.like_button.isChecked()))
        self.dislike_button.clicked.connect(lambda: self._emit_like(-1, self.dislike_button.isChecked()))
        self.reveal_button.clicked.connect(self.reveal)

    def _teach(self, kind: str) -> None:
        if self._row is not None:
            self.teach_requested.emit(self._row, kind)

    @property
    def track_id(self) -> int | None:
        if self._arrays is None or self._row is None:
            return None
        return int(self._arrays.track_ids[self._row])

    def _emit_like(self, value: int, on: bool) -> None:
        if self.track_id is not None:
            self.like_requested.emit(self.track_id, value if on else 0)

    def show_track(self, arrays: LibraryArrays, row: int | None) -> None:
        self._arrays, self._row = arrays, row
        for b in (self.like_button, self.dislike_button, self.reveal_button, *self.teach_buttons.values()):
            b.setEnabled(row is not None)
        if row is None:
            self.title.setText("No track selected")
            self.subtitle.setText("")
            if self.bars is not None:
                self.bars.setVisible(False)
            self.descriptors.setRowCount(0)
            return
        self.title.setText(display.track_title(arrays, row))
        quadrant = display.top_quadrant_text(arrays.quadrant_probs[row])
        bits = [arrays.artists[row], arrays.albums[row], arrays.genre_text(row), quadrant]  # "(from audio)" if inferred
        self.subtitle.setText(" · ".join(b for b in bits if b))
        self._draw_emotions(arrays.tag_names, arrays.tag_scores[row])
        self._fill_descriptors(arrays, row)
        self.set_like_state(int(arrays.liked[row]) if len(arrays.liked) > row else 0)

    def set_like_state(self, value: int) -> None:
        self.like_button.setChecked(value > 0)
        self.dislike_button.setChecked(value < 0)

    def _draw_emotions(self, names: list[str], scores: np.ndarray) -> None:
        order = np.argsort(scores)  # largest at the top
        y = np.arange(len(names))
        widths = np.asarray(scores, dtype=float)[order]
        brushes = [pg.mkBrush(theme.ACCENT if i >= len(names) - 3 else theme.BAR) for i in range(len(names))]
        # one bar item for the panel's life, updated in place: re-adding an item per selection churned pyqtgraph's
        # view-change signal connections on every click (a disconnect there once hung the window's thread)
        if self.bars is None:
            self.bars = pg.BarGraphItem(x0=0, y=y, height=0.7, width=widths, brushes=brushes, pen=pg.mkPen(None))
            self.plot.addItem(self.bars)
        else:
            self.bars.setOpts(x0=0, y=y, height=0.7, width=widths, brushes=brushes)
        self.bars.setVisible(True)
        self.plot.getAxis("left").setTicks([[(int(i), names[j]) for i, j in zip(y, order)]])
        self.plot.setXRange(0, max(float(widths.max()) * 1.1, 0.05), padding=0)
        self.plot.setYRange(-0.6, len(names) - 0.4, padding=0)

    def _fill_descriptors(self, arrays: LibraryArrays, row: int) -> None:
        """Every descriptor as 'Quiet ↔ Loud' with its percentile; the tooltip explains it in words."""
        names = list(arrays.descriptor_names)
        docs = _descriptor_docs()
        labels = display.descriptor_labels(names)
        values = np.asarray(arrays.descriptors, dtype=float)
        percentiles = descriptor_percentiles(values, row)
        self.descriptors.setRowCount(len(names))
        for i, name in enumerate(names):
            pct = float(percentiles[i])
            spec = docs.get(name)
            text = f"{spec.low_pole} ↔ {spec.high_pole}" if spec else labels.get(name, name)
            item = QTableWidgetItem(text)
            unit = f" {spec.unit}" if spec and spec.unit else ""
            tip = f"{labels.get(name, name)}: {spec.doc}" if spec else labels.get(name, name)
            item.setToolTip(f"{tip}\nThis track: {values[row, i]:.4g}{unit}")
            self.descriptors.setItem(i, 0, item)
            cell = QTableWidgetItem("–" if np.isnan(pct) else f"{pct:3.0f}")
            cell.setToolTip(item.toolTip())
            self.descriptors.setItem(i, 1, cell)
        self.descriptors.resizeRowsToContents()

    def reveal(self) -> None:
        if self._arrays is not None and self._row is not None:
            self.reveal_requested.emit(self._arrays.paths[self._row])
