"""Render resources/icons/quadfusion-explorer.svg to the PNG sizes desktops want, plus a Windows .ico.

Qt's SVG renderer is used so no extra tool is needed; the outputs are committed, so packaging never depends on this.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICON_DIR / "quadfusion-explorer.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def render(sizes: tuple[int, ...] = SIZES) -> list[Path]:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise RuntimeError(f"cannot parse {SVG}")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        out = ICON_DIR / f"quadfusion-explorer-{size}.png"
        if not image.save(str(out)):
            raise RuntimeError(f"cannot write {out}")
        written.append(out)
    written.append(_write_ico(ICON_DIR / "quadfusion-explorer.ico"))
    return written


def _write_ico(ico: Path) -> Path:
    """Multi-size ICO via ImageMagick when present (Windows picks 16..256); else Qt's single-image writer."""
    import shutil
    import subprocess

    pngs = [str(ICON_DIR / f"quadfusion-explorer-{s}.png") for s in (16, 32, 48, 64, 128, 256)]
    magick = shutil.which("magick") or shutil.which("convert")
    if magick:
        subprocess.run([magick, *pngs, str(ico)], check=True)
    else:
        from PySide6.QtGui import QImage

        QImage(pngs[-1]).save(str(ico))
    return ico


if __name__ == "__main__":
    for path in render():
        print(path)
