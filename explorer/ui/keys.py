"""Keys belong to the control that has focus when it uses them.

The window's single-key shortcuts (Space, L, D, Q, S, M, Return) and the arrow keys would otherwise be taken from
lists, text fields, combo boxes and buttons: Space could not tick a genre, arrows could not move in a list.
This filter claims such keys for the focused control (ShortcutOverride accepted), so the shortcut fires only
when the focus is on the map or on nothing that wants the key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QTextEdit,
)

TEXT_WIDGETS = (QLineEdit, QTextEdit, QAbstractSpinBox)
NAVIGATING = (QAbstractItemView, QComboBox, QAbstractSlider, QAbstractButton)
NAV_KEYS = {
    Qt.Key_Space,
    Qt.Key_Return,
    Qt.Key_Enter,
    Qt.Key_Left,
    Qt.Key_Right,
    Qt.Key_Up,
    Qt.Key_Down,
    Qt.Key_Home,
    Qt.Key_End,
    Qt.Key_PageUp,
    Qt.Key_PageDown,
}


class FocusKeys(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.ShortcutOverride:
            return False
        focus = QApplication.focusWidget()
        if focus is None or obj is not focus:
            return False
        plain = not (event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier))
        if isinstance(focus, TEXT_WIDGETS) and plain and event.text():
            event.accept()
        elif isinstance(focus, NAVIGATING) and plain and event.key() in NAV_KEYS:
            event.accept()
        return False


def install(app: QApplication) -> FocusKeys:
    """Install the filter on the application once (every window shares it)."""
    guard = app.findChild(FocusKeys)
    if guard is None:
        guard = FocusKeys(app)
        app.installEventFilter(guard)
    return guard
