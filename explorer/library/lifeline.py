"""Worker processes die with the indexing process, whatever kills it (kill -9 included).

Left alone they would not: every pool worker holds the write end of its own task queue (so it never sees EOF)
and the forkserver's "alive" pipe (so the forkserver never exits either); a SIGKILLed indexer left the forkserver,
the workers and the resource tracker running, holding gigabytes. Two independent guards:

- a watchdog thread that waits on a pidfd of the indexing process (Linux >= 5.3; polling elsewhere) and ends this
  process as soon as that one is gone, armed in the forkserver (from its preload) and in every worker;
- on Linux, PR_SET_PDEATHSIG(SIGKILL) in each worker, so it dies with its direct parent (the forkserver, or the
  indexer itself with the spawn start method).

Once the forkserver and the workers are gone, multiprocessing's resource tracker sees EOF and exits by itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading
import time

PARENT_ENV = "QFX_INDEXER_PID"  # set while the forkserver starts, so its preload knows whom to watch
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when its parent ends (Linux only; True when set)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _end_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup handlers: they could block on the dead parent's pipes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(pid: int, fd: int | None) -> None:
    if fd is not None:
        select.select([fd], [], [])  # a pidfd becomes readable when its process exits
        _end_now()
    while _alive(pid) and os.getppid() != 1:
        time.sleep(0.5)
    _end_now()


def watch_process(pid: int) -> None:
    """End this process (SIGKILL to itself) as soon as process `pid` has ended."""
    if pid == os.getpid():
        return
    fd = None
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            fd = None
    if fd is None and not _alive(pid):
        _end_now()
    threading.Thread(target=_watch, args=(pid, fd), name="qfx-lifeline", daemon=True).start()


def arm_forkserver() -> None:
    """Called from the forkserver's preload: watch the indexer that started it (its parent, named in the env)."""
    text = os.environ.get(PARENT_ENV, "")
    if text.isdigit() and int(text) == os.getppid():
        watch_process(int(text))
