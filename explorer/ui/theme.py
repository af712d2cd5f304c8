"""The app's look: a dark and a light palette, the one the desktop uses by default (Settings ▸ Theme overrides it),
and the same colours for offscreen map renders, so a `qfx map` PNG matches the window."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
DARK = {
    "BACKGROUND": "#16181d",
    "PANEL": "#1e2128",
    "BASE": "#23262e",
    "TEXT": "#e6e6e6",
    "MUTED": "#9aa0aa",
    "BORDER": "#333844",
    "DISABLED": "#6b717c",
}
LIGHT = {
    "BACKGROUND": "#fbfbfc",
    "PANEL": "#eef0f3",
    "BASE": "#ffffff",
    "TEXT": "#1d1f24",
    "MUTED": "#5c6370",
    "BORDER": "#c8ccd4",
    "DISABLED": "#9aa0aa",
}
BACKGROUND, PANEL, BASE, TEXT, MUTED = DARK["BACKGROUND"], DARK["PANEL"], DARK["BASE"], DARK["TEXT"], DARK["MUTED"]
ACCENT = "#f0a030"
BAR = "#5b8def"
GRID_ALPHA = 0.15
STAR = "#ffd54a"
current = "dark"


def stylesheet(c: dict[str, str]) -> str:
    return f"""
QLabel#detailsTitle {{ font-size: 15pt; font-weight: 600; }}
QLabel#detailsSubtitle {{ color: {c["MUTED"]}; }}
QLabel#modelLabel {{ color: {c["MUTED"]}; padding-left: 14px; }}
QLabel#panelTitle {{ font-weight: 600; color: {c["MUTED"]}; }}
QGroupBox {{ font-weight: 600; border: 1px solid {c["BORDER"]}; border-radius: 4px; margin-top: 8px;
            padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 3px; color: {c["MUTED"]}; }}
QPushButton:checked {{ background: {ACCENT}; color: #111; }}
QToolBar {{ border: none; spacing: 6px; }}
QDockWidget::title {{ padding: 4px; background: {c["PANEL"]}; }}
"""


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256, 512):
        png = ICONS / f"quadfusion-explorer-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    return icon


def system_scheme() -> str:
    """'dark' or 'light' as the desktop says (Qt 6.5+); dark when it does not say."""
    app = QGuiApplication.instance()
    if app is None:
        return "dark"
    return "light" if app.styleHints().colorScheme() == Qt.ColorScheme.Light else "dark"


def resolve(choice: str) -> str:
    return system_scheme() if choice == "system" else ("light" if choice == "light" else "dark")


def _set_colours(scheme: str) -> dict[str, str]:
    global BACKGROUND, PANEL, BASE, TEXT, MUTED, current
    c = LIGHT if scheme == "light" else DARK
    BACKGROUND, PANEL, BASE, TEXT, MUTED = c["BACKGROUND"], c["PANEL"], c["BASE"], c["TEXT"], c["MUTED"]
    current = scheme
    return c


def configure_pyqtgraph() -> None:
    pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground=TEXT)


def apply(app: QApplication, choice: str = "system") -> str:
    """Fusion style + the chosen palette: readable everywhere, identical on every desktop (and under Xvfb).
    Returns the scheme applied ('dark' or 'light')."""
    scheme = resolve(choice)
    c = _set_colours(scheme)
    configure_pyqtgraph()
    app.setStyle("Fusion")
    pal = QPalette()
    for role, key in (
        (QPalette.Window, "PANEL"),
        (QPalette.WindowText, "TEXT"),
        (QPalette.Base, "BASE"),
        (QPalette.AlternateBase, "PANEL"),
        (QPalette.Text, "TEXT"),
        (QPalette.Button, "BASE"),
        (QPalette.ButtonText, "TEXT"),
        (QPalette.ToolTipBase, "BASE"),
        (QPalette.ToolTipText, "TEXT"),
        (QPalette.PlaceholderText, "MUTED"),
    ):
        pal.setColor(role, QColor(c[key]))
    pal.setColor(QPalette.Highlight, QColor(BAR))
    pal.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        pal.setColor(QPalette.Disabled, role, QColor(c["DISABLED"]))
    app.setPalette(pal)
    app.setStyleSheet(stylesheet(c))
    for widget in app.allWidgets():  # plots already on screen take the new background
        if isinstance(widget, pg.PlotWidget):
            widget.setBackground(BACKGROUND)
    return scheme


def apply_choice(choice: str) -> str:
    app = QApplication.instance()
    return apply(app, choice) if app is not None else resolve(choice)


def follow_system(app: QApplication, choice: callable) -> None:
    """Re-apply when the desktop switches light/dark and the user's choice is 'system'."""
    app.styleHints().colorSchemeChanged.connect(lambda _s: apply(app, "system") if choice() == "system" else None)
