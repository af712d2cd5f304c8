"""Checking a MuQ weights folder the user picks, off the GUI thread. Which model and MuQ folder are active is decided
in explorer.library.model_choice (no Qt), shared with About and every `qfx` command; its names are re-exported here
for the window."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from explorer.library.model_choice import (
    ENV_MODEL,
    ENV_MUQ,
    MUQ_LICENCE_NOTE,
    ActiveModel,
    ModelChoiceError,
    active_model,
    check_model,
)

__all__ = ["ENV_MODEL", "ENV_MUQ", "MUQ_LICENCE_NOTE", "ActiveModel", "ModelChoiceError", "MuQCheck", "active_model",
           "check_model"]
log = logging.getLogger(__name__)


class MuQCheck(QThread):
    """Loads MuQ weights from a folder on a worker thread (the real model takes seconds and 1.3 GB), then drops
    them: the indexer loads its own copy when it runs."""

    succeeded = Signal(str)  # the folder
    failed = Signal(str)  # a message for the user, licence note included

    def __init__(self, folder: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.folder = str(folder)

    def run(self) -> None:  # runs on the worker thread
        from core.features.muq_embed import MuQUnavailable, load_muq_embedder

        try:
            embedder = load_muq_embedder(model_dir=self.folder, device="cpu")
            del embedder
        except MuQUnavailable as exc:
            self.failed.emit(f"{exc}\n\n{MUQ_LICENCE_NOTE}")
        except Exception as exc:
            log.exception("checking MuQ weights in %s failed", self.folder)
            self.failed.emit(f"Could not load MuQ weights from {self.folder}: {type(exc).__name__}: {exc}\n\n"
                             f"{MUQ_LICENCE_NOTE}")
        else:
            self.succeeded.emit(self.folder)
