"""The one way background results reach the GUI thread.

`run_task(work, done)` runs `work()` on a pool thread and calls `done(result, error)` on the GUI thread, in one
event: whatever the handler does (re-enable an action, show a dialog) happens together, so nothing can observe a
half-finished state. `to_main(fn, *args)` hands any call from any thread (decoder callbacks, progress reports) to
the GUI thread. `Newest` keeps the newest-request-wins rule for work a user can re-trigger faster than it finishes
(map scenes, model checks): a result whose request was superseded is dropped, never shown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)
Done = Callable[[Any, BaseException | None], None]


class _Dispatcher(QObject):
    """Lives on the GUI thread; a queued signal carries callables to it from any thread."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a broken handler must not take the event loop down; the excepthook shows it
            log.exception("a GUI-thread callback failed")
            import sys

            sys.excepthook(*sys.exc_info())


_dispatcher: _Dispatcher | None = None
_lock = threading.Lock()
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qfx-task")


def _get_dispatcher() -> _Dispatcher:
    global _dispatcher
    with _lock:
        if _dispatcher is None:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("to_main needs a QApplication")
            _dispatcher = _Dispatcher()
            _dispatcher.moveToThread(app.thread())
        return _dispatcher


def to_main(fn: Callable[..., Any], *args: Any) -> None:
    """Call `fn(*args)` on the GUI thread, after the current event (also when called on the GUI thread)."""
    _get_dispatcher().call.emit(lambda: fn(*args))


def run_task(work: Callable[[], Any], done: Done | None = None) -> None:
    """Run `work()` on a pool thread (it must not touch widgets); then `done(result, error)` on the GUI thread."""
    dispatcher = _get_dispatcher()  # made on the calling (GUI) thread, before any worker needs it

    def body() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:
            result, error = None, exc
        if done is not None:
            dispatcher.call.emit(lambda: done(result, error))

    _pool.submit(body)


class Newest:
    """Numbered requests of one kind; only the newest one's result is delivered.

    `start()` returns a ticket; `is_newest(ticket)` tells a done-handler whether to use or drop its result.
    `pending` is True while the newest request has not been delivered (`deliver(ticket)` marks it so).
    """

    def __init__(self) -> None:
        self.generation = 0
        self.delivered = 0

    def start(self) -> int:
        self.generation += 1
        return self.generation

    def is_newest(self, ticket: int) -> bool:
        return ticket == self.generation

    def deliver(self, ticket: int) -> bool:
        """Mark `ticket` delivered when it is the newest; False means: drop its result."""
        if ticket != self.generation:
            return False
        self.delivered = ticket
        return True

    @property
    def pending(self) -> bool:
        return self.delivered != self.generation
