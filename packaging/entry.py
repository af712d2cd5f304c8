"""Frozen-bundle launcher: one script behind both executables, dispatching on the executable's name.

Why a separate launcher: the indexer's worker pool uses multiprocessing (forkserver on Linux, spawn elsewhere), and a
frozen executable must call `multiprocessing.freeze_support()` before anything else, or every helper process would
re-run the CLI/GUI argument parser. `qfx` (or `qfx.exe`) runs the command line; any other name runs the desktop app.

`QFX_SMOKE_TEST=SECONDS` (GUI only) starts the app, lets it run SECONDS, prints one line describing the main window
and quits with 0 (1 if no main window appeared); `make package-test` uses it to start the bundled GUI unattended.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _install_smoke_test(seconds: float) -> None:
    """Quit the GUI after `seconds`, reporting the main window: reuses the QApplication that explorer.app creates."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def report() -> None:
        windows = [w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow"]
        if windows:
            win = windows[0]
            print(f"smoke-test: main window up: {win.windowTitle()!r}, visible={win.isVisible()}", flush=True)
        else:
            print("smoke-test: no main window", flush=True)
        for w in windows:
            w.close()  # runs the window's own shutdown (cancels indexing, stops playback)
        app.exit(0 if windows else 1)

    QTimer.singleShot(int(seconds * 1000), report)


def main() -> int:
    multiprocessing.freeze_support()
    if Path(sys.executable).stem.lower() == "qfx":
        from explorer.cli.main import main as cli_main

        return cli_main()
    smoke = os.environ.get("QFX_SMOKE_TEST")
    if smoke:
        _install_smoke_test(float(smoke))
    from explorer.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
