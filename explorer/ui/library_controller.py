"""The open library behind the window: its cache (the GUI thread's own connection), the analysed arrays, and
background indexing with throttled reloads. The window draws; this object says when there is something new."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.analysis import display
from explorer.library.arrays import LibraryArrays
from explorer.library.indexer import IndexSummary
from explorer.ui.index_worker import IndexWorker

log = logging.getLogger(__name__)
RELOAD_INTERVAL_S = 2.0  # while indexing, reload arrays and redraw at most this often


class LibraryError(Exception):
    """The folder or its cache cannot be used; the message is meant for the user."""


class LibraryController(QObject):
    arrays_changed = Signal(bool)  # new arrays are loaded; True: keep the user's view
    index_started = Signal()
    index_progress = Signal(int, int, int, str, float)  # done, total, failures, current, eta (-1 unknown)
    index_finished = Signal(str)  # status line
    index_failed = Signal(str)
    index_cancelled = Signal()

    def __init__(
        self,
        cache_dir: Path | None,
        model_loader: Callable[[], tuple],
        workers: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir, self.model_loader, self.workers = cache_dir, model_loader, workers
        self.root: Path | None = None
        self.cache = None
        self.arrays: LibraryArrays | None = None
        self.worker: IndexWorker | None = None
        self.last_summary: IndexSummary | None = None
        self.no_model = False  # the last index run had no emotion model: the empty map needs explaining
        self._last_reload = 0.0
        self._reloaded_at_done = 0
        self._reload_cost = 0.0  # seconds the last reload + redraw took on the GUI thread
        self.reload_interval = RELOAD_INTERVAL_S
        self.reload_cost_factor = 10.0  # keep reloads under ~1/10 of the GUI thread's time while indexing
        self._restart = False  # re-index once the running index has stopped (the model changed meanwhile)

    def open(self, root: Path) -> Path:
        """Switch to `root` (raises LibraryError); the caller then reloads and maybe indexes."""
        root = Path(root).expanduser()
        if not root.is_dir():
            raise LibraryError(f"{root} is not a folder.")
        self.cancel_indexing(wait=True)
        from explorer.library.cache import LibraryCache

        try:
            cache = LibraryCache.open(root, self.cache_dir)
        except Exception as exc:
            raise LibraryError(f"The cache for {root} could not be opened:\n{exc}") from exc
        self.close_cache()
        self._restart = False
        self.cache, self.root, self.no_model = cache, root.resolve(), False
        return self.root

    def reload(self, keep_view: bool = True) -> None:
        """Read the arrays again (raises LibraryError) and announce them."""
        if self.cache is None:
            return
        try:
            self.arrays = self.cache.load_arrays(muq=False)
        except Exception as exc:
            log.exception("loading arrays failed")
            raise LibraryError(f"The library cache could not be read:\n{exc}") from exc
        self.arrays_changed.emit(keep_view)

    def reload_quietly(self, keep_view: bool) -> None:
        try:
            self.reload(keep_view)
        except LibraryError as exc:  # mid-indexing: try again at the next tick rather than interrupting
            log.warning("%s", exc)

    # -- indexing -------------------------------------------------------------------------------
    def is_indexing(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start_indexing(self) -> None:
        if self.root is None or self.is_indexing():
            return
        worker = IndexWorker(self.root, self.cache_dir, model_loader=self.model_loader, workers=self.workers)
        # a superseded job (the library was switched meanwhile) may still deliver: only the current one counts
        current = lambda slot: lambda *a: slot(*a) if self.worker is worker else None  # noqa: E731
        worker.progressed.connect(current(self._on_progress))
        worker.succeeded.connect(current(self._on_done))
        worker.failed.connect(current(self._on_failed))
        worker.cancelled.connect(current(self._on_cancelled))
        worker.finished.connect(current(self._on_worker_finished))
        self.worker = worker
        self._last_reload, self._reloaded_at_done = time.monotonic(), 0
        self.index_started.emit()
        worker.start()

    def reindex(self) -> None:
        """Index again with the current model choice. A running index is cancelled and started again once its thread
        has stopped (what it stored stays; the new run re-runs only the model on stored features)."""
        if self.root is None:
            return
        if self.is_indexing():
            self._restart = True
            self.worker.cancel()
            return
        self.start_indexing()

    def _on_worker_finished(self) -> None:
        if not self._restart:
            return
        self._restart = False
        if self.worker is not None:
            self.worker.wait(30000)  # `finished` is queued: the thread is at most returning from run()
        self.start_indexing()

    def cancel_indexing(self, wait: bool = False) -> bool:
        """Ask the running index to stop; True when one was running."""
        self._restart = False
        if not self.is_indexing():
            return False
        self.worker.cancel()
        if wait:
            self.worker.wait(30000)
        return True

    def _on_progress(self, done: int, total: int, failures: int, current: str, eta: float) -> None:
        self.index_progress.emit(done, total, failures, current, eta)
        now = time.monotonic()
        # big libraries take longer to reload: keep the GUI thread busy at most ~10% of the time
        interval = max(self.reload_interval, self.reload_cost_factor * self._reload_cost)
        if done > self._reloaded_at_done and now - self._last_reload >= interval:
            self._reloaded_at_done = done
            self.reload_quietly(True)
            self._last_reload = time.monotonic()
            self._reload_cost = self._last_reload - now

    def _on_done(self, summary: IndexSummary) -> None:
        self.no_model = summary.model_version is None
        self.last_summary = summary
        for path, reason in summary.failed:  # the log names them too, for bug reports
            log.warning("could not read %s: %s", path, reason)
        self.index_finished.emit(display.index_summary_status(summary))
        self.reload_quietly(False)

    def _on_failed(self, message: str) -> None:
        self.reload_quietly(True)
        self.index_failed.emit(message)

    def _on_cancelled(self) -> None:
        self.index_cancelled.emit()
        self.reload_quietly(True)

    def failures(self) -> list[tuple[str, str]]:
        """(path, reason) of every file of the open library that could not be read (kept in the cache), and of the
        tracks kept while their folder is missing, where the cache records those."""
        if self.cache is None:
            return []
        try:
            out = list(self.cache.failures())
            offline = getattr(self.cache, "offline_tracks", None)  # caches that keep unmounted folders' tracks
            if offline is not None:
                out += [(path, f"offline: {why or 'folder missing'}") for path, why, _since in offline()]
            return out
        except Exception:
            log.exception("reading the failures failed")
            return []

    def retry_failed(self) -> None:
        """Index again, trying the files that failed once more (the library layer decides how, where it can)."""
        if self.cache is None:
            return
        retry = getattr(self.cache, "retry_failures", None)  # offered by newer caches
        if retry is not None:
            retry()
        self.reindex()

    # -- likes, closing -------------------------------------------------------------------------
    def set_like(self, track_id: int, value: int) -> int | None:
        """Persist a like (+1), dislike (-1) or neither (0); returns the arrays row it changed, if loaded."""
        if self.cache is None:
            return None
        try:
            self.cache.set_like(track_id, value)
        except Exception as exc:
            raise LibraryError(f"The like could not be saved:\n{exc}") from exc
        if self.arrays is None:
            return None
        hit = np.flatnonzero(self.arrays.track_ids == track_id)
        if not len(hit):
            return None
        self.arrays.liked[hit[0]] = value
        return int(hit[0])

    def close_cache(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    def close(self) -> None:
        self._restart = False
        self.cancel_indexing(wait=True)
        self.close_cache()
