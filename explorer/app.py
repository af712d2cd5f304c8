"""`qfx-explorer [FOLDER]`: the desktop explorer. Opens FOLDER (or the last library), indexes it in the background."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _setup_logging() -> Path:
    from platformdirs import user_log_dir

    folder = Path(os.environ.get("QFX_LOG_DIR") or user_log_dir("quadfusion-explorer"))
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(folder / "explorer.log", encoding="utf-8"))
    except OSError:
        pass
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("QFX_DEBUG") else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qfx-explorer", description="Explore a music folder by emotion and genre.")
    parser.add_argument("folder", nargs="?", help="music folder to open (default: the last library)")
    parser.add_argument("--cache", metavar="DIR", help="cache folder (default: QFX_CACHE_DIR or the user cache)")
    parser.add_argument("--no-index", action="store_true", help="show what the cache holds without indexing")
    args = parser.parse_args(argv)

    _setup_logging()
    from PySide6.QtWidgets import QApplication

    from explorer.ui import theme
    from explorer.ui.errors import install_excepthook, show_error
    from explorer.ui.main_window import MainWindow
    from explorer.ui.mpris import MprisHost
    from explorer.ui.settings import AppSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("QuadFusion Explorer")
    app.setOrganizationName("QuadFusion")
    app.setDesktopFileName("quadfusion-explorer")  # the .desktop entry: icon and name in docks and task bars
    app.setWindowIcon(theme.app_icon())
    settings = AppSettings()
    theme.apply(app, settings.theme())
    theme.follow_system(app, settings.theme)
    install_excepthook()
    window = MainWindow(cache_dir=Path(args.cache) if args.cache else None)
    window.mpris = MprisHost(window, window.playback)
    window.mpris.register()
    window.show()
    folder = args.folder or window.settings.last_library()
    if folder:
        if Path(folder).is_dir():
            window.open_library(Path(folder), index=not args.no_index)
        else:
            show_error(window, "Cannot open library", f"{folder} is not a folder.")
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
