"""The filter column: genre, emotion and quadrant selectors with live counts, and the K (subcategories) control.

The panel only collects choices and shows the counts analysis computed (facet_counts); it never filters itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.emotions import QUADRANT_LABELS
from explorer.analysis.filtering import QUADRANT_NAMES, FacetCounts, TrackFilter

# labels come from the emotion table (resources/emotions.json), not from code
QUADRANT_HINTS = {q: f"{q} · {QUADRANT_LABELS.get(q, '')}".rstrip(" ·") for q in QUADRANT_NAMES}
K_CHOICES = ["auto", "2", "3", "4", "5", "6"]
MAX_ROWS = 14
NAME_ROLE = Qt.UserRole


class _FacetList(QListWidget):
    """A checkable list whose entries read 'Name (count)'; entries with no track are hidden unless checked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)
        self.setAlternatingRowColors(False)
        self._fit_height()

    def set_entries(self, counts: dict[str, int], order: list[str]) -> None:
        checked = set(self.checked())
        self.blockSignals(True)
        self.clear()
        for name in order:
            n = int(counts.get(name, 0))
            item = QListWidgetItem(f"{name}  ({n})")
            item.setData(NAME_ROLE, name)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if name in checked else Qt.Unchecked)
            self.addItem(item)
            item.setHidden(n == 0 and name not in checked)
        self.blockSignals(False)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as its visible entries (up to MAX_ROWS), so short vocabularies leave no empty well."""
        rows = max(min(self.visible_count(), MAX_ROWS), 2)
        row_h = self.sizeHintForRow(0) if self.count() else self.fontMetrics().height() + 4
        self.setMaximumHeight(rows * max(row_h, 1) + 2 * self.frameWidth() + 4)

    def checked(self) -> list[str]:
        return [self.item(i).data(NAME_ROLE) for i in range(self.count()) if self.item(i).checkState() == Qt.Checked]

    def set_checked(self, names: list[str]) -> None:
        wanted = set(names)
        self.blockSignals(True)
        for i in range(self.count()):
            item = self.item(i)
            item.setCheckState(Qt.Checked if item.data(NAME_ROLE) in wanted else Qt.Unchecked)
        self.blockSignals(False)

    def visible_count(self) -> int:
        return sum(not self.item(i).isHidden() for i in range(self.count()))


class FilterPanel(QWidget):
    """Emits `changed` (debounced a little, so ticking several boxes re-renders once)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.genres = _FacetList()
        self.emotions = _FacetList()
        self.quadrant_boxes: dict[str, QCheckBox] = {}
        self.k_combo = QComboBox()
        self.k_combo.addItems(K_CHOICES)
        self.k_combo.setToolTip("Number of subcategories (K-means clusters); auto picks by silhouette")
        self.clear_button = QPushButton("Clear filters")

        genre_box = QGroupBox("Genre")
        QVBoxLayout(genre_box).addWidget(self.genres)
        emotion_box = QGroupBox("Emotion")
        QVBoxLayout(emotion_box).addWidget(self.emotions)
        quad_box = QGroupBox("Quadrant (valence × arousal)")
        quad_layout = QVBoxLayout(quad_box)
        for q in QUADRANT_NAMES:
            box = QCheckBox(QUADRANT_HINTS[q])
            box.toggled.connect(self._schedule)
            self.quadrant_boxes[q] = box
            quad_layout.addWidget(box)
        map_box = QGroupBox("Map")
        form = QFormLayout(map_box)
        form.addRow("Subcategories", self.k_combo)
        self.k_info = QLabel("")
        self.k_info.setWordWrap(True)
        self.k_info.setObjectName("kInfo")
        self.k_info.setToolTip(
            "How well K subcategories separate the tracks in view: separation = distance between "
            "the two closest centres over the typical distance to a centre (auto picks the "
            "highest, avoiding K whose smallest subcategory is a single track); silhouette as a "
            "second opinion; min n = tracks in the smallest subcategory"
        )
        form.addRow(self.k_info)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(genre_box)
        layout.addWidget(emotion_box)
        layout.addWidget(quad_box)
        layout.addWidget(map_box)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.clear_button)
        layout.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.changed)
        self.genres.itemChanged.connect(self._schedule)
        self.emotions.itemChanged.connect(self._schedule)
        self.k_combo.currentIndexChanged.connect(self._schedule)
        self.clear_button.clicked.connect(self.clear)

    def _schedule(self, *_args) -> None:
        self._timer.start()

    def flush(self) -> None:
        """Emit a pending change now (tests and programmatic edits don't wait for the debounce)."""
        if self._timer.isActive():
            self._timer.stop()
            self.changed.emit()

    # -- state ----------------------------------------------------------------------------------
    def set_counts(self, counts: FacetCounts, genre_order: list[str], emotion_order: list[str]) -> None:
        self.genres.set_entries(counts.genres, genre_order)
        self.emotions.set_entries(counts.emotions, emotion_order)
        for q, box in self.quadrant_boxes.items():
            box.setText(f"{QUADRANT_HINTS[q]}  ({counts.quadrants.get(q, 0)})")

    def set_k_scores(self, scores, chosen: int, auto: bool) -> None:
        """Show the separation / silhouette analysis computed for each K (what 'auto' chose from)."""
        if not scores:
            self.k_info.setText("")
            return
        rows = []
        for sc in scores:
            mark = "◀" if sc.k == chosen else ""
            sil = "–" if sc.silhouette != sc.silhouette else f"{sc.silhouette:.2f}"  # NaN check
            smallest = getattr(sc, "min_size", None)
            small = "" if smallest is None else str(int(smallest))
            rows.append(
                f"<tr><td nowrap>K&nbsp;=&nbsp;{sc.k}</td><td align='right'>{sc.separation:.2f}</td>"
                f"<td align='right'>{sil}</td><td align='right'>{small}</td><td>{mark}</td></tr>"
            )
        head = "<tr><td></td><td><i>separ.</i></td><td><i>silh.</i></td><td><i>min&nbsp;n</i></td><td></td></tr>"
        note = "auto choice" if auto else "your choice"
        self.k_info.setText(f"<table cellspacing='3'>{head}{''.join(rows)}</table><i>◀ {note}</i>")

    def current_filter(self) -> TrackFilter:
        quads = [q for q, box in self.quadrant_boxes.items() if box.isChecked()]
        return TrackFilter.of(genres=self.genres.checked(), emotions=self.emotions.checked(), quadrants=quads)

    def k(self) -> int | None:
        """None means 'auto'."""
        text = self.k_combo.currentText()
        return None if text == "auto" else int(text)

    def set_selection(
        self,
        genres: list[str] = (),
        emotions: list[str] = (),
        quadrants: list[str] = (),
        k: int | None = None,
    ) -> None:
        """Programmatic selection (restored settings, tests); emits one `changed`."""
        self.genres.set_checked(list(genres))
        self.emotions.set_checked(list(emotions))
        for q, box in self.quadrant_boxes.items():
            box.blockSignals(True)
            box.setChecked(q in quadrants)
            box.blockSignals(False)
        self.k_combo.blockSignals(True)
        self.k_combo.setCurrentText("auto" if k is None else str(k))
        self.k_combo.blockSignals(False)
        self._timer.stop()
        self.changed.emit()

    def clear(self) -> None:
        self.set_selection(k=self.k())

    def state(self) -> dict:
        f = self.current_filter()
        return {"genres": list(f.genres), "emotions": list(f.emotions), "quadrants": list(f.quadrants), "k": self.k()}
