"""Likes, dislikes, corrections ("teach it") and the recommendations they drive."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from explorer.analysis import display
from explorer.analysis.errors import AnalysisError
from explorer.analysis.recommend import liked_rows, recommend
from explorer.analysis.rows import row_of_track
from explorer.library import teaching
from explorer.ui.library_controller import LibraryController, LibraryError
from explorer.ui.track_list import RecommendPanel

log = logging.getLogger(__name__)
N_RECOMMEND = 10
_FIXED = {"more_energetic": "More energetic", "calmer": "Calmer"}
# menu and button order: the two nudges first, then the quadrants with their words from resources/emotions.json
TEACH_KINDS = {
    **{k: _FIXED[k] for k in teaching.TEACH_KINDS if k in _FIXED},
    **{k: f"It is {display.quadrant_hint(k).replace(' · ', ' (')})" for k in teaching.TEACH_KINDS if k not in _FIXED},
}


class TasteController(QObject):
    like_changed = Signal(int, int)  # live row, value
    likes_changed = Signal()
    message = Signal(str)
    error = Signal(str, str)

    def __init__(
        self, library: LibraryController, recommendations: RecommendPanel, current_row, parent: QObject | None = None
    ) -> None:
        """`current_row()` returns the selected live row (the target of L and D)."""
        super().__init__(parent)
        self.library, self.recommendations, self.current_row = library, recommendations, current_row
        self.undo_stack: list[tuple[int, int]] = []  # (track id, value before)

    def like_current(self) -> None:
        self._toggle_current(+1)

    def dislike_current(self) -> None:
        self._toggle_current(-1)

    def _toggle_current(self, value: int) -> None:
        row, a = self.current_row(), self.library.arrays
        if row is None or a is None:
            return
        current = int(a.liked[row])
        self.set_like(int(a.track_ids[row]), 0 if current == value else value)

    def set_like_row(self, row: int, value: int) -> None:
        a = self.library.arrays
        if a is not None and 0 <= row < len(a):
            self.set_like(int(a.track_ids[row]), value)

    def set_like(self, track_id: int, value: int, *, undoable: bool = True) -> None:
        a = self.library.arrays
        row = row_of_track(a, track_id)
        before = int(a.liked[row]) if row is not None else 0
        try:
            row = self.library.set_like(track_id, value)
        except LibraryError as exc:
            self.error.emit("Cannot save like", str(exc))
            return
        if undoable and before != value:
            self.undo_stack.append((int(track_id), before))
        if row is not None:
            self.like_changed.emit(row, value)
        self.likes_changed.emit()
        self.refresh_recommendations()

    def undo(self) -> bool:
        """Take back the last like / dislike change."""
        if not self.undo_stack:
            return False
        track_id, before = self.undo_stack.pop()
        self.set_like(track_id, before, undoable=False)
        return True

    def refresh_recommendations(self) -> None:
        a = self.library.arrays
        if a is None:
            return
        liked, disliked = liked_rows(a.liked)
        if not len(liked) and not len(disliked):
            self.recommendations.show(a, [], "Like a few tracks (press L) to get recommendations")
            return
        try:
            recs = recommend(a.embeddings, liked, disliked, n=N_RECOMMEND, titles=a.titles)
        except AnalysisError as exc:
            self.recommendations.show(a, [], str(exc))
            return
        self.recommendations.show(a, recs, f"From {len(liked)} liked and {len(disliked)} disliked tracks")

    def teach(self, row: int, kind: str) -> None:
        """Store a correction for the track ("it is calmer", "it is Q3") and reload, so the map shows it."""
        a, cache = self.library.arrays, self.library.cache
        if a is None or cache is None or not 0 <= row < len(a):
            return
        try:
            teaching.add_correction(cache, a.paths[row], kind)
        except teaching.TeachingError as exc:
            self.error.emit("Cannot store the correction", str(exc))
            return
        self.message.emit(f"Noted: {TEACH_KINDS.get(kind, kind)} — the map is updated")
        self.library.reload_quietly(True)
