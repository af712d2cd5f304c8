"""The indexer's worker pool: how it starts (forkserver, one thread per worker, tied to this process) and stops.

Workers get, at start: the pickled model when they run it, this process's pid (they end when it does; see
explorer.library.lifeline), and the per-file time limit with a folder where a worker that must kill itself over a
stuck file leaves the file's id (so the crash is recorded as a time-out, not as a decoder crash).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from explorer.library.lifeline import PARENT_ENV
from explorer.library.worker import init_worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSetup:
    model_blob: bytes | None  # pickled EmotionModel when workers run the model
    time_limit: float  # seconds one file may take in a worker
    marker_dir: str  # where a worker records the file it gave up on before killing itself


# glibc malloc in the workers: a file's analysis allocates and frees dozens of 1-10 MB arrays (spectra, peak
# lists, decoded audio). By default each one is a fresh mmap, and every page of it faults in again (~3,500 faults
# and ~10 ms of kernel time per 30 s clip on a VM). Served from the heap and kept there instead, the same pages are
# reused file after file; memory above 256 MiB of free heap still goes back to the system.
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def worker_environment() -> dict[str, str]:
    """What a worker's environment adds: one BLAS/OpenMP thread (the pool already uses every core) and the malloc
    settings above (read by glibc when the forkserver starts; forked workers inherit them)."""
    return {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **_MALLOC_ENV}


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    """Worker processes (and the forkserver) start with `worker_environment()`, knowing this process's pid."""
    values = {**worker_environment(), PARENT_ENV: str(os.getpid())}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def worker_model_blob(model: Any, muq: Any) -> bytes | None:
    """The pickled model when the workers should run it: on a CPU without MuQ, each worker runs the model on the
    file it just analysed, so the model's work spreads over every core instead of one main-process thread (the
    workers would otherwise idle while it runs). GPU models (and models fed by MuQ, which runs in this process)
    stay here."""
    if model is None or muq is not None or getattr(model, "uses_muq", False):
        return None
    if getattr(getattr(model, "device", None), "type", None) != "cpu":
        return None
    try:
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an object that can't travel: it runs here instead
        log.debug("model stays in the main process: %s", exc)
        return None


def new_pool(workers: int, setup: WorkerSetup) -> ProcessPoolExecutor:
    if sys.platform.startswith("linux") and not getattr(sys, "frozen", False):  # frozen apps: spawn is the safe one
        ctx = multiprocessing.get_context("forkserver")
        # Imported once in the server (with Essentia, ~1.2 s alone), inherited by every worker it forks.
        ctx.set_forkserver_preload(["explorer.library.preload"])
    else:
        ctx = multiprocessing.get_context("spawn")
    with _worker_env():
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=init_worker,
            initargs=(setup.model_blob, os.getpid(), setup.time_limit, setup.marker_dir),
        )
        pool.submit(int, 0).result()  # start the workers now, inside the single-thread environment
    return pool


def kill_pool(pool: ProcessPoolExecutor | None) -> None:
    """Stop at once: drop queued work and terminate workers (shutdown alone waits for running files)."""
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API for this before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(timeout=1.0)
