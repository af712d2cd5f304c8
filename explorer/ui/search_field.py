"""The search field above the map: matches of the typed text ringed and centred on the map, Enter plays the first."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from explorer.analysis.search import search_rows


class SearchController:
    """The search field's side: matches of the typed text highlighted and centred on the map."""

    def __init__(self, field: QLineEdit, window) -> None:
        self.field, self.window = field, window
        self.rows: list[int] = []
        field.textChanged.connect(self.run)
        field.returnPressed.connect(self.play_first)

    def focus(self) -> None:
        self.field.setFocus(Qt.ShortcutFocusReason)
        self.field.selectAll()

    def run(self, text: str) -> None:
        w = self.window
        if w.library.arrays is None:
            return
        self.rows = [int(r) for r in search_rows(w.library.arrays, text)]
        shown = w.maps.mark_matches(self.rows, centre=bool(self.rows))
        if text.strip():
            w.note(
                f"{len(self.rows)} match{'es' if len(self.rows) != 1 else ''} for “{text}”"
                + (f", {shown} on the map" if shown != len(self.rows) else "")
            )

    def play_first(self) -> None:
        if self.rows:
            self.window.playback.play_row(self.rows[0])
