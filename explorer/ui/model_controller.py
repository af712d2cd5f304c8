"""Settings ▸ Emotion model… / Use the built-in model / MuQ weights folder…: check a choice, keep it, say which
model is active, and re-index the open library with it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QWidget

from explorer.library.model_choice import ENV_MODEL, ENV_MUQ, ActiveModel, ModelChoiceError, active_model, check_model
from explorer.ui.library_controller import LibraryController
from explorer.ui.model_choice import check_muq
from explorer.ui.settings import AppSettings
from explorer.ui.tasks import run_task


class ModelController(QObject):
    message = Signal(str)  # status-bar note (empty: clear)
    error = Signal(str, str)  # title, message
    info = Signal(str, str)

    def __init__(self, settings: AppSettings, library: LibraryController, label: QLabel, parent: QWidget) -> None:
        super().__init__(parent)
        self.settings, self.library, self.label, self.window = settings, library, label, parent
        self.muq_action: QAction | None = None  # disabled while a MuQ folder is checked
        self.checking = False
        self.active: ActiveModel = self._resolve()
        self._show()

    def _resolve(self) -> ActiveModel:
        return active_model(self.settings.model_dir(), self.settings.muq_dir())

    def _show(self) -> None:
        self.label.setText(self.active.label())
        self.label.setToolTip(self.active.tooltip())

    def refresh(self) -> None:
        self.active = self._resolve()
        self._show()

    def loader_args(self) -> tuple[str | None, str | None]:
        """(model, muq) for the indexer, read by its thread: `active` is resolved on the GUI thread."""
        return self.active.loader_args()

    def _changed(self, what: str) -> None:
        """Re-resolve the active model, say so, and re-index the open library with it (model re-run only)."""
        self.refresh()
        if self.active.source == ENV_MODEL:
            self.message.emit(f"{what} saved, but {ENV_MODEL} is set and overrides it")
            return
        if self.active.uses_muq and not self.active.muq_dir:
            self.info.emit(
                "This model needs MuQ weights",
                "The chosen emotion model reads MuQ embeddings. Choose the MuQ weights folder "
                "(Settings ▸ MuQ weights folder…) and the library will be re-indexed with it.",
            )
            return
        self.message.emit(f"{what}: {self.active.label()}")
        if self.library.root is not None:
            self.library.reindex()

    def choose_model(self, folder: str | None = None) -> bool:
        """A checkpoint folder, loaded once to check it before it is kept (a checkpoint loads in well under 1 s)."""
        if folder is None:
            start = str(self.active.directory.parent)
            folder = QFileDialog.getExistingDirectory(self.window, "Choose an emotion model folder", start)
            if not folder:
                return False
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            check_model(folder)
        except ModelChoiceError as exc:
            self.error.emit(
                "Not a usable emotion model",
                f"{folder} cannot be used as an emotion model:\n\n{exc}\n\nThe current model stays active.",
            )
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.settings.set_model_dir(str(Path(folder).resolve()))
        self._changed("Emotion model")
        return True

    def use_builtin_model(self) -> None:
        self.settings.set_model_dir(None)
        self._changed("Emotion model")

    def choose_muq_dir(self, folder: str | None = None) -> None:
        """Checked on a pool thread (loading MuQ takes seconds); one check at a time."""
        if self.checking:
            return
        if folder is None:
            folder = QFileDialog.getExistingDirectory(
                self.window, "Choose the MuQ weights folder", self.active.muq_dir or str(Path.home())
            )
            if not folder:
                return
        self.checking = True
        if self.muq_action is not None:
            self.muq_action.setEnabled(False)
        self.message.emit(f"Checking the MuQ weights in {folder}…")
        run_task(lambda: check_muq(folder), lambda _r, exc, f=folder: self._on_muq_checked(f, exc))

    def _on_muq_checked(self, folder: str, exc: BaseException | None) -> None:
        # one event: the action is usable again before anything (a dialog) can be observed
        self.checking = False
        if self.muq_action is not None:
            self.muq_action.setEnabled(True)
        if exc is not None:
            self.message.emit("")
            self.error.emit("MuQ weights not usable", str(exc))
            return
        self.settings.set_muq_dir(str(Path(folder).resolve()))
        if os.environ.get(ENV_MUQ):
            self.refresh()
            self.message.emit(f"MuQ weights saved, but {ENV_MUQ} is set and overrides them")
        elif self.active.uses_muq:
            self._changed("MuQ weights")
        else:
            self.refresh()
            self.message.emit("MuQ weights saved; the current emotion model does not use them")
