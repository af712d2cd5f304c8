"""Background indexing: index_library runs on a QThread, its progress callback becomes queued signals.

The worker opens its own LibraryCache (SQLite connections belong to the thread that made them) and loads the
model there too, so the GUI thread never waits on disk, torch or decoding.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QThread, Signal

from core.progress import CancelToken, Cancelled, Progress

log = logging.getLogger(__name__)
EMIT_INTERVAL = 0.1  # seconds between progress signals (the indexer may report far more often)
GUI_BATCH_SIZE = 8  # files per commit: small, so the map fills in while a library is indexed


class IndexWorker(QThread):
    progressed = Signal(int, int, int, str, float)  # done, total, failures, current file, eta seconds (-1 unknown)
    succeeded = Signal(object)  # IndexSummary
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        root: Path,
        cache_dir: Optional[Path] = None,
        *,
        model_loader: Callable[[], tuple],
        workers: Optional[int] = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.root, self.cache_dir, self.workers = Path(root), cache_dir, workers
        self.model_loader = model_loader
        self.token = CancelToken()
        self._last_emit = 0.0

    def cancel(self) -> None:
        self.token.cancel()

    def _on_progress(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last_emit < EMIT_INTERVAL and p.done < p.total:
            return
        self._last_emit = now
        eta = p.eta
        self.progressed.emit(int(p.done), int(p.total), int(p.failures), str(p.current), -1.0 if eta is None else eta)
        if self.token.cancelled:
            raise Cancelled()

    def run(self) -> None:  # runs on the worker thread
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library

        cache = None
        try:
            self.progressed.emit(0, 0, 0, "loading the emotion model…", -1.0)
            model, muq = self.model_loader()
            if self.token.cancelled:
                raise Cancelled()
            cache = LibraryCache.open(self.root, self.cache_dir)
            summary = index_library(
                self.root, cache, workers=self.workers, model=model, muq=muq,
                progress=self._on_progress, cancel=self.token, batch_size=GUI_BATCH_SIZE,
            )
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # everything becomes one message for a dialog; details go to the log
            log.exception("indexing %s failed", self.root)
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            if self.token.cancelled:
                self.cancelled.emit()
            else:
                self.succeeded.emit(summary)
        finally:
            if cache is not None:
                try:
                    cache.close()
                except Exception:
                    log.debug("closing the worker cache failed", exc_info=True)
