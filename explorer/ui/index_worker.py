"""Background indexing: index_library runs through tasks.run_task; its progress reaches the GUI thread via to_main.

The job opens its own LibraryCache (SQLite connections belong to the thread that made them) and loads the
model there too, so the GUI thread never waits on disk, torch or decoding. Every signal of this object is emitted
on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.progress import Cancelled, CancelToken, Progress
from explorer.ui.tasks import run_task, to_main

log = logging.getLogger(__name__)
EMIT_INTERVAL = 0.1  # seconds between progress signals (the indexer may report far more often)
GUI_BATCH_SIZE = 8  # files per commit: small, so the map fills in while a library is indexed


class IndexWorker(QObject):
    progressed = Signal(int, int, int, str, float)  # done, total, failures, current file, eta seconds (-1 unknown)
    succeeded = Signal(object)  # IndexSummary
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # after the outcome signal

    def __init__(
        self,
        root: Path,
        cache_dir: Path | None = None,
        *,
        model_loader: Callable[[], tuple],
        workers: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.root, self.cache_dir, self.workers = Path(root), cache_dir, workers
        self.model_loader = model_loader
        self.token = CancelToken()
        self._last_emit = 0.0
        self._done = threading.Event()
        self._started = False

    def cancel(self) -> None:
        self.token.cancel()

    def isRunning(self) -> bool:
        return self._started and not self._done.is_set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the indexing thread has returned (its outcome is still delivered as a queued event)."""
        return self._done.wait(ms / 1000) if self._started else True

    def start(self) -> None:
        self._started = True
        run_task(self._run, self._deliver)

    def _on_progress(self, p: Progress) -> None:  # the indexing thread
        now = time.monotonic()
        if now - self._last_emit < EMIT_INTERVAL and p.done < p.total:
            return
        self._last_emit = now
        eta = -1.0 if p.eta is None else float(p.eta)
        to_main(self.progressed.emit, int(p.done), int(p.total), int(p.failures), str(p.current), eta)
        if self.token.cancelled:
            raise Cancelled()

    def _run(self):  # the indexing thread
        from explorer.library.cache import LibraryCache
        from explorer.library.indexer import index_library

        cache = None
        try:
            to_main(self.progressed.emit, 0, 0, 0, "loading the emotion model…", -1.0)
            model, muq = self.model_loader()
            if self.token.cancelled:
                raise Cancelled()
            cache = LibraryCache.open(self.root, self.cache_dir)
            return index_library(
                self.root,
                cache,
                workers=self.workers,
                model=model,
                muq=muq,
                progress=self._on_progress,
                cancel=self.token,
                batch_size=GUI_BATCH_SIZE,
            )
        finally:
            if cache is not None:
                try:
                    cache.close()
                except Exception:
                    log.debug("closing the worker cache failed", exc_info=True)
            self._done.set()

    def _deliver(self, summary, error: BaseException | None) -> None:  # the GUI thread
        if isinstance(error, Cancelled) or (error is None and self.token.cancelled):
            self.cancelled.emit()
        elif error is not None:  # everything becomes one message for a dialog; details go to the log
            log.error("indexing %s failed", self.root, exc_info=error)
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self.succeeded.emit(summary)
        self.finished.emit()
