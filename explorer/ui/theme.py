"""One dark look for the whole app and for offscreen map renders, so a `qfx map` PNG matches the window."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#16181d"
PANEL = "#1e2128"
BASE = "#23262e"
TEXT = "#e6e6e6"
MUTED = "#9aa0aa"
ACCENT = "#f0a030"
BAR = "#5b8def"
GRID_ALPHA = 0.15
STAR = "#ffd54a"

STYLESHEET = f"""
QLabel#detailsTitle {{ font-size: 15pt; font-weight: 600; }}
QLabel#detailsSubtitle {{ color: {MUTED}; }}
QLabel#modelLabel {{ color: {MUTED}; padding-left: 14px; }}
QLabel#panelTitle {{ font-weight: 600; color: {MUTED}; }}
QGroupBox {{ font-weight: 600; border: 1px solid #333844; border-radius: 4px; margin-top: 8px; padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 3px; color: {MUTED}; }}
QPushButton:checked {{ background: {ACCENT}; color: #111; }}
QToolBar {{ border: none; spacing: 6px; }}
QDockWidget::title {{ padding: 4px; background: {PANEL}; }}
"""


def configure_pyqtgraph() -> None:
    pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground=TEXT)


def apply(app: QApplication) -> None:
    """Fusion style + dark palette: readable everywhere, identical on every desktop (and under Xvfb)."""
    configure_pyqtgraph()
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.Window, QColor(PANEL))
    pal.setColor(QPalette.WindowText, QColor(TEXT))
    pal.setColor(QPalette.Base, QColor(BASE))
    pal.setColor(QPalette.AlternateBase, QColor(PANEL))
    pal.setColor(QPalette.Text, QColor(TEXT))
    pal.setColor(QPalette.Button, QColor(BASE))
    pal.setColor(QPalette.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ToolTipBase, QColor(BASE))
    pal.setColor(QPalette.ToolTipText, QColor(TEXT))
    pal.setColor(QPalette.Highlight, QColor(BAR))
    pal.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.PlaceholderText, QColor(MUTED))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor("#6b717c"))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6b717c"))
    pal.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#6b717c"))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
