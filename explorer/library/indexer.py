"""Index a music folder into its cache: scan, plan, decode + features in worker processes, model in batches.

Workers (one per core) decode and extract features while the main thread runs MuQ and QuadFusionNet on the
previous batch (GPU when present), so CPU and GPU work overlap. Every batch is committed in one transaction: a
killed run leaves a consistent cache and the next run resumes; a cancelled run (Ctrl-C) first commits every file
that finished. A worker that crashes costs one file: the pool is restarted, the files that were in flight are
retried one at a time, and the one that crashes again is recorded. Each file has a time limit in its worker;
workers end with this process whatever ends it; one run per library at a time (explorer.library.lock).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from core.progress import Cancelled, CancelToken, Progress, ProgressCallback
from explorer.library.batches import BATCH_SIZE, BatchRun
from explorer.library.cache import LibraryCache
from explorer.library.compact import drop_mels, set_keep_mels, stored_mels
from explorer.library.failures import CRASH_REASON, PERMANENT, TRANSIENT
from explorer.library.lock import LibraryBusy, library_lock
from explorer.library.opening import is_damage, mark_damaged
from explorer.library.plan import plan_run
from explorer.library.pool import WorkerSetup, kill_pool, new_pool, worker_model_blob
from explorer.library.pretrained import gpu_musicnn
from explorer.library.runtime import IndexingError, default_time_limit, resolve_model, resolve_muq, torch_threads
from explorer.library.scanner import scan_audio_files
from explorer.library.summary import IndexSummary
from explorer.library.worker import WorkResult, extract

log = logging.getLogger(__name__)

__all__ = ["CRASH_REASON", "IndexSummary", "IndexingError", "LibraryBusy", "index_library"]


def needs_mel(model: Any, keep_mels: bool) -> bool:
    """Whether indexing must compute the mel: the model has a mel branch, or the library stores mels (training).
    The small cache of the shipped default (MusiCNN, genre, low-level) never reads it."""
    return keep_mels or "mel" in (getattr(model, "branches", None) or ())


class _Run(BatchRun):
    """State of one indexing run's analysis phase: the worker pool that feeds `BatchRun` (explorer.library.batches),
    which runs the model on finished files and commits them batch by batch."""

    worker_fn = staticmethod(extract)  # what a worker does per file (the GPU pipeline swaps in decode-only)

    def default_workers(self) -> int:
        """Worker processes when the caller names none: one per core."""
        return os.cpu_count() or 1

    def worker_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments of `worker_fn`: MusiCNN runs in the workers unless this process batches it; the
        mel is computed only when something reads it (a mel branch, or a library that keeps mels for training)."""
        return {"musicnn_here": self.musicnn is None, "with_mel": needs_mel(self.model, self.cache.keep_mels)}

    # -- the worker pool ------------------------------------------------------------------------------------
    def _timed_out(self, crashed: list[tuple[int, bytes]], marker_dir: str) -> list[tuple[int, bytes]]:
        """Files whose worker killed itself over them (stuck past the time limit): recorded as time-outs."""
        rest = []
        for item in crashed:
            marker = os.path.join(marker_dir, str(item[0]))
            if os.path.exists(marker):
                os.unlink(marker)
                self.accept(
                    WorkResult(
                        item[0],
                        {},
                        error=f"time limit: stuck for more than {self.time_limit:.0f} s",
                        error_kind=TRANSIENT,
                    )
                )
            else:
                rest.append(item)
        return rest

    def _save_finished(self, inflight: dict[Future, tuple[int, bytes]]) -> None:
        """After a cancel: take the results of files that finished but were not collected yet, and commit
        every finished file (without running the main-process model: that is left for the next run)."""
        self.quiet = True
        for fut in inflight:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.accept(fut.result())
        self.flush(run_model=False)

    def extract_all(self, todo: list[tuple[int, bytes]], workers: int) -> None:
        self.progress.stage = "analysing"
        self.paths.update(todo)
        queue: deque[tuple[int, bytes]] = deque(todo)
        suspects: deque[tuple[int, bytes]] = deque()  # in flight when a worker crashed: retried one at a time
        inflight: dict[Future, tuple[int, bytes]] = {}
        isolated: tuple[int, bytes] | None = None
        want_audio = self.muq is not None
        extra = self.worker_kwargs()
        marker_dir = tempfile.mkdtemp(prefix="qfx-stuck-")
        setup = WorkerSetup(worker_model_blob(self.model, self.muq), self.time_limit, marker_dir)
        pool = new_pool(workers, setup)
        try:
            while queue or suspects or inflight:
                self.check_cancel()
                if suspects:
                    if not inflight:
                        isolated = suspects.popleft()
                        inflight[pool.submit(self.worker_fn, isolated[0], isolated[1], want_audio, **extra)] = isolated
                else:
                    while len(inflight) < max(workers * 4, 2 * self.batch_size) and queue:  # enough queued that
                        # workers stay busy while this thread runs the model on a finished batch
                        item = queue.popleft()
                        inflight[pool.submit(self.worker_fn, item[0], item[1], want_audio, **extra)] = item
                done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                crashed: list[tuple[int, bytes]] = []
                for fut in done:
                    item = inflight.pop(fut)
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        crashed.append(item)
                        continue
                    except Exception as exc:  # pickling trouble and the like: still one file
                        res = WorkResult(item[0], {}, error=f"{type(exc).__name__}: {exc}", error_kind=TRANSIENT)
                    self.accept(res)
                if crashed:
                    crashed += list(inflight.values())
                    inflight.clear()
                    crashed = self._timed_out(crashed, marker_dir)
                    if crashed == [isolated]:  # crashed while alone in the pool: the culprit
                        self.accept(WorkResult(crashed[0][0], {}, error=CRASH_REASON, error_kind=PERMANENT))
                    else:
                        suspects.extend(crashed)
                    kill_pool(pool)
                    pool = new_pool(workers, setup)
                if len(self.batch) + len(self.failures) >= self.batch_size or not (queue or suspects or inflight):
                    self.flush()  # workers keep decoding the queued files meanwhile
        except Cancelled:
            self._save_finished(inflight)
            raise
        finally:
            kill_pool(pool)
            shutil.rmtree(marker_dir, ignore_errors=True)


def index_library(
    root: str | os.PathLike,
    cache: LibraryCache,
    *,
    workers: int | None = None,
    model: Any = None,
    muq: Any = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    batch_size: int = BATCH_SIZE,
    time_limit: float | None = None,
    wait: float | None = 0.0,
    keep_mels: bool | None = None,
    pipeline: Any = "auto",
) -> IndexSummary:
    """Bring `cache` up to date with the audio files under `root`; raises Cancelled when `cancel` fires (after
    committing every finished file).

    model: an EmotionModel, a checkpoint folder, None for the shipped default (features only if none is
    installed), or False for features only. muq: a MuQEmbedder, a weights folder, or None (no MuQ). batch_size:
    files per model batch and per committed transaction. time_limit: seconds per file in a worker (default
    `default_time_limit()`, proportional to the excerpt; 0 = none). wait: seconds to wait when another run holds
    the library (None = as long as it takes); raises LibraryBusy after that. keep_mels: change the library's
    setting to store full mels (for training) or not (the small default cache; stored mels are dropped in place).
    pipeline: "auto" (GPU pipeline when CUDA is present), "cpu", "gpu", or a `GpuPipeline` / `RayPipeline`
    (docs/ARCHITECTURE.md, GPU and distributed indexing).

    A root that is absent or empty (an unmounted drive) does not remove anything: its tracks go offline.
    """
    root_path = Path(os.path.abspath(os.fspath(root)))
    if not root_path.is_dir() and not cache.con.execute("SELECT EXISTS (SELECT 1 FROM tracks)").fetchone()[0]:
        raise IndexingError(f"library folder not found: {root_path}")
    with library_lock(cache.db_path, wait=wait):
        try:
            if keep_mels is not None and keep_mels != cache.keep_mels:
                set_keep_mels(cache, keep_mels)
            if progress is not None and not cache.keep_mels and stored_mels(cache):
                progress(Progress(stage="making the cache small (once)"))
            compacted = drop_mels(cache)  # an old cache with mels becomes small, in place (likes kept)
            if compacted:
                cache.notices.append(compacted)
            return _index(
                root_path,
                cache,
                workers=workers,
                model=model,
                muq=muq,
                progress=progress,
                cancel=cancel,
                batch_size=batch_size,
                time_limit=default_time_limit() if time_limit is None else time_limit,
                pipeline=pipeline,
            )
        except Exception as exc:
            if is_damage(exc):  # noticed mid-run: the next run moves the file aside and rebuilds
                mark_damaged(cache.db_path, exc)
                raise IndexingError(
                    f"the cache {cache.db_path} is damaged ({exc}); run again to move it aside "
                    "and rebuild it (likes that can still be read are carried over)"
                ) from exc
            raise


def _index(
    root_path: Path,
    cache: LibraryCache,
    *,
    workers: int | None,
    model: Any,
    muq: Any,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    batch_size: int,
    time_limit: float,
    pipeline: Any = "auto",
) -> IndexSummary:
    from core.features.track import EXTRACTOR_VERSION

    started = time.monotonic()
    model, muq = resolve_model(model), resolve_muq(muq)
    if model is not None and getattr(model, "uses_muq", False) and muq is None:
        raise IndexingError("this emotion model needs MuQ embeddings: give the MuQ weights folder (--muq-dir)")
    summary = IndexSummary(
        model_version=getattr(model, "version", None),
        extractor_version=str(EXTRACTOR_VERSION),
        notices=list(cache.notices),
    )
    state = Progress(stage="scanning")
    from explorer.library.gpu_run import resolve_pipeline

    run_args = (
        cache,
        model,
        muq,
        summary,
        state,
        progress,
        cancel,
        str(EXTRACTOR_VERSION),
        max(1, int(batch_size)),
        time_limit,
    )
    other = resolve_pipeline(pipeline)  # GPU stages or a Ray cluster instead of the local worker pool
    # GPU stages run MusiCNN themselves; on the local pool a CUDA MusiCNN batches it in this process
    run = other.make_run(_Run, *run_args) if other is not None else _Run(*run_args, musicnn=gpu_musicnn(model))
    workers = max(1, int(workers or run.default_workers()))
    run.report()
    files = list(scan_audio_files(root_path)) if root_path.is_dir() else []  # absent root: everything offline
    run.check_cancel()
    plan = plan_run(
        cache,
        files,
        extractor_version=str(EXTRACTOR_VERSION),
        model_version=summary.model_version,
        need_muq=muq is not None,
        cancel=cancel,
    )
    for name in (
        "added",
        "updated",
        "moved",
        "removed",
        "unchanged",
        "resumed",
        "retried",
        "went_offline",
        "still_offline",
        "back_online",
        "restored_likes",
    ):
        setattr(summary, name, getattr(plan, name))
    state.total = len(plan.extract) + (len(plan.model_only) if model is not None else 0)
    run.report()
    if model is not None and plan.model_only:
        run.model_only(plan.model_only)
    if plan.extract:
        with torch_threads(model, muq, min(workers, len(plan.extract))):
            run.extract_all(plan.extract, min(workers, len(plan.extract)))
    summary.failed += plan.vanished
    state.stage = "saving"
    run.report()
    cache.load_arrays()  # rebuilds the column snapshot now, so the first load_arrays() after indexing is instant
    summary.elapsed = time.monotonic() - started
    state.stage = "done"
    run.report("")
    return summary
