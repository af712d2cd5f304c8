"""One indexing run per library at a time: an advisory lock file next to the cache DB.

Two runs on the same library would analyse the same files twice and fight over the DB's write lock. The second
run either waits for the first (`wait` seconds, None for as long as it takes) or stops at once with a message
that names the run holding the lock. The OS drops the lock when its process ends, however it ends (even
SIGKILL), so a stale lock file never blocks anything.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class LibraryBusy(RuntimeError):
    """Another run holds the library's lock."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another run"
    return f"another run ({text})" if text else "another run"


@contextlib.contextmanager
def library_lock(db_path: Path, *, wait: float | None = 0.0, what: str = "indexing") -> Iterator[None]:
    """Hold the library's lock for the block. `wait`: seconds to wait for a busy lock (0 = do not wait,
    None = wait as long as it takes); raises LibraryBusy when it stays busy."""
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if wait is None else time.monotonic() + max(0.0, wait)
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() >= deadline:
                raise LibraryBusy(
                    f"{_holder(path)} is already working on this library (lock {path}); "
                    "wait for it to finish or stop it, or run again with --wait"
                )
            time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {what}, since {time.strftime('%H:%M:%S')}".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the lock
