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

import numpy as np

from core.progress import Cancelled, CancelToken, Progress, ProgressCallback
from explorer.library.cache import LibraryCache
from explorer.library.compact import drop_mels, set_keep_mels, stored_mels
from explorer.library.failures import CRASH_REASON, MODEL, PERMANENT, TRANSIENT
from explorer.library.lock import LibraryBusy, library_lock
from explorer.library.opening import is_damage, mark_damaged
from explorer.library.plan import plan_run
from explorer.library.pool import WorkerSetup, kill_pool, new_pool, worker_model_blob
from explorer.library.pretrained import embed_batch, gpu_musicnn, musicnn_input
from explorer.library.runtime import IndexingError, default_time_limit, resolve_model, resolve_muq, torch_threads
from explorer.library.scanner import scan_audio_files
from explorer.library.summary import IndexSummary
from explorer.library.worker import WorkResult, extract

log = logging.getLogger(__name__)

BATCH_SIZE = 32
__all__ = ["CRASH_REASON", "IndexSummary", "IndexingError", "LibraryBusy", "index_library"]


class _Run:
    """State of one indexing run's analysis phase."""

    worker_fn = staticmethod(extract)  # what a worker does per file (the GPU pipeline swaps in decode-only)

    def worker_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments of `worker_fn`: MusiCNN runs in the workers unless this process batches it."""
        return {"musicnn_here": self.musicnn is None}

    def __init__(
        self,
        cache: LibraryCache,
        model: Any,
        muq: Any,
        summary: IndexSummary,
        progress: Progress,
        callback: ProgressCallback | None,
        cancel: CancelToken | None,
        extractor_version: str,
        batch_size: int = BATCH_SIZE,
        time_limit: float = 0.0,
        musicnn: Any = None,
    ) -> None:
        self.batch_size = batch_size
        self.cache, self.model, self.muq = cache, model, muq
        self.musicnn = musicnn  # a GPU MusiCNN here in the main process; None: the workers run it on their CPU
        self.summary, self.progress, self.callback, self.cancel = summary, progress, callback, cancel
        self.extractor_version = extractor_version
        self.time_limit = time_limit
        self.batch: list[WorkResult] = []
        self.failures: list[WorkResult] = []
        self.paths: dict[int, bytes] = {}
        self.quiet = False  # no progress callbacks (while saving after a cancel)

    def report(self, current: str = "") -> None:
        if current:
            self.progress.current = current
        if self.callback is not None and not self.quiet:
            self.callback(self.progress)

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise Cancelled()

    def accept(self, res: WorkResult) -> None:
        self.progress.done += 1
        if res.error is not None:
            self.failures.append(res)
            self.progress.failures += 1
        else:
            self.batch.append(res)
        self.report(os.fsdecode(self.paths.get(res.track_id, b"")))

    # -- model + storage ------------------------------------------------------------------------------------
    def _inference_step(self) -> int:
        """Clips per model/MuQ call: whole batches on a GPU, a few on a CPU so that cancel stays prompt."""
        device = getattr(self.model, "device", None) or getattr(self.muq, "device", None)
        return self.batch_size if getattr(device, "type", "cpu") == "cuda" else 2

    def _infer(self, batch: list[WorkResult]) -> None:
        """MuQ and the model on finished files, in small steps (cancel is checked between them). A failure of
        either is the model's, not the file's: it is noted on the files and their features are still stored."""
        step = self._inference_step()
        if self.muq is not None:
            for start in range(0, len(batch), step):
                self.check_cancel()
                part = [r for r in batch[start : start + step] if r.audio24k is not None]
                try:
                    embedded = self.muq.embed([r.audio24k for r in part], batch_size=len(part)) if part else []
                except Exception as exc:
                    for r in part:
                        r.model_error, r.error_kind = f"MuQ: {type(exc).__name__}: {exc}", MODEL
                    continue
                for r, vec in zip(part, embedded):
                    r.features.muq = np.asarray(vec, dtype=np.float32)
                    r.audio24k = None
        if self.model is None:
            return
        todo = [r for r in batch if r.prediction is None and r.model_error is None]  # the rest: done by a worker
        for start in range(0, len(todo), step):
            self.check_cancel()
            part = todo[start : start + step]
            feats = [r.features for r in part]
            try:
                p = self.model.predict(
                    mel=[f.mel for f in feats],
                    lowlevel=np.stack([f.lowlevel for f in feats]),
                    genre=np.stack([f.genre for f in feats]),
                    muq=np.stack([f.muq for f in feats]) if all(f.muq is not None for f in feats) else None,
                    **musicnn_input(self.model, [f.musicnn for f in feats]),
                )
            except Exception as exc:
                for r in part:
                    r.model_error, r.error_kind = f"{type(exc).__name__}: {exc}", MODEL
                continue
            for i, r in enumerate(part):
                r.prediction = (p.tag_scores[i], p.quadrant_probs[i], p.embeddings[i])

    def flush(self, run_model: bool = True) -> None:
        """MuQ + model on the finished batch, then one transaction for its features, results and failures.

        A cancel during the model step still commits the batch's features (the model runs on them next time)."""
        batch, failures = self.batch, self.failures
        self.batch, self.failures = [], []
        if not batch and not failures:
            return
        if batch and self.musicnn is not None:  # a feature, not the model: runs even when the model step is skipped
            batch, failures = self._musicnn(batch, failures)
        cancelled: Cancelled | None = None
        if run_model and batch:
            try:
                self._infer(batch)
            except Cancelled as exc:
                cancelled = exc
        self._commit(batch, failures)
        if cancelled is not None:
            raise cancelled

    def _musicnn(self, batch: list[WorkResult], failures: list[WorkResult]) -> tuple[list, list]:
        """The GPU MusiCNN step of a batch; if it fails, the batch's files are failures to retry next run."""
        try:
            embed_batch(self.musicnn, batch)
        except Exception as exc:
            for r in batch:
                r.error, r.error_kind, r.audio16k = f"MusiCNN: {type(exc).__name__}: {exc}", TRANSIENT, None
            self.progress.failures += len(batch)
            return [], failures + batch
        return batch, failures

    def _commit(self, batch: list[WorkResult], failures: list[WorkResult]) -> None:
        with self.cache.transaction() as con:
            for r in batch:
                self.cache.update_tags(r.track_id, r.tags)
                self.cache.store_features(r.track_id, self.extractor_version, r.features)
                if self.model is not None and r.prediction is not None:
                    self.cache.store_analysis(r.track_id, self.model.version, *r.prediction)
                elif r.model_error is not None:
                    con.execute(
                        "UPDATE tracks SET error = ?, error_kind = ? WHERE id = ?",
                        (f"model error: {r.model_error}", MODEL, r.track_id),
                    )
            for r in failures:
                if r.tags:
                    self.cache.update_tags(r.track_id, r.tags)
                self.cache.record_failure(r.track_id, r.error or "unknown error", r.error_kind or TRANSIENT)
        self.summary.analysed += len(batch)
        self.summary.model_errors += [
            (os.fsdecode(self.paths[r.track_id]), r.model_error or "")
            for r in batch
            if r.model_error is not None and r.prediction is None
        ]
        self.summary.failed += [(os.fsdecode(self.paths[r.track_id]), r.error or "") for r in failures]
        for r in failures:
            kind = r.error_kind or TRANSIENT
            self.summary.failed_kinds[kind] = self.summary.failed_kinds.get(kind, 0) + 1

    def model_only(self, track_ids: list[int]) -> None:
        """New model version: predictions from stored mel/lowlevel/genre/MuQ, no decoding."""
        self.progress.stage = "re-running the model"
        step = 256 if self._inference_step() > 2 else 2
        for start in range(0, len(track_ids), step):
            self.check_cancel()
            inputs = self.cache.stored_inputs(track_ids[start : start + step])
            if not inputs:
                continue
            muq = [x["muq"] for x in inputs]
            try:
                preds = self.model.predict(
                    mel=[x["mel"] for x in inputs],
                    lowlevel=np.stack([x["lowlevel"] for x in inputs]),
                    genre=np.stack([x["genre"] for x in inputs]),
                    muq=np.stack(muq) if all(m is not None for m in muq) else None,
                    **musicnn_input(self.model, [x["musicnn"] for x in inputs]),
                )
            except Exception as exc:
                paths = dict(
                    self.cache.con.execute(
                        f"SELECT id, path FROM tracks WHERE id IN ({','.join('?' * len(inputs))})",
                        [x["track_id"] for x in inputs],
                    ).fetchall()
                )
                self.summary.model_errors += [
                    (os.fsdecode(bytes(paths[x["track_id"]])), f"{type(exc).__name__}: {exc}") for x in inputs
                ]
                continue
            with self.cache.transaction():
                for i, x in enumerate(inputs):
                    self.cache.store_analysis(
                        x["track_id"],
                        self.model.version,
                        preds.tag_scores[i],
                        preds.quadrant_probs[i],
                        preds.embeddings[i],
                    )
            self.summary.reanalysed += len(inputs)
            self.progress.done += len(inputs)
            self.report()

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
    workers = max(1, int(workers or os.cpu_count() or 1))
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
