"""Index a music folder into its cache: scan, plan, decode + features in worker processes, model in batches.

Workers (one per core) decode and extract features while the main thread runs MuQ and QuadFusionNet on the
previous batch (GPU when present), so CPU and GPU work overlap. Every batch is committed in one transaction: a
killed run leaves a consistent cache and the next run resumes. A worker that crashes costs one file: the pool is
restarted, the files that were in flight are retried one at a time, and the one that crashes again is recorded.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np

from core.progress import CancelToken, Cancelled, Progress, ProgressCallback
from explorer.library.cache import LibraryCache
from explorer.library.plan import plan_run
from explorer.library.pretrained import embed_batch, gpu_musicnn, musicnn_input
from explorer.library.scanner import scan_audio_files
from explorer.library.worker import WorkResult, extract, init_worker

log = logging.getLogger(__name__)

BATCH_SIZE = 32
CRASH_REASON = "the decoder crashed its worker process"


class IndexingError(RuntimeError):
    """The run cannot start (missing folder, model that needs MuQ without MuQ, ...)."""


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    resumed: int = 0  # left pending by an interrupted run
    reanalysed: int = 0  # new model version: model re-run from stored features, no decoding
    analysed: int = 0  # files decoded + analysed in this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    elapsed: float = 0.0
    model_version: Optional[str] = None
    extractor_version: str = ""


def _resolve_model(model: Any) -> Any:
    from core.checkpoint import CheckpointError
    from core.inference import EmotionModel

    if model is False:  # features only, even when a shipped model is installed
        return None
    if model is None:
        try:
            return EmotionModel.load()
        except CheckpointError as exc:
            log.warning("indexing without emotions: %s", exc)
            return None
    if isinstance(model, (str, os.PathLike)):
        try:
            return EmotionModel.load(model)
        except CheckpointError as exc:
            raise IndexingError(f"cannot load the model: {exc}") from exc
    return model


def _resolve_muq(muq: Any) -> Any:
    if muq is None or hasattr(muq, "embed"):
        return muq
    from core.features.muq_embed import MuQUnavailable, load_muq_embedder

    try:
        return load_muq_embedder(muq)
    except MuQUnavailable as exc:
        raise IndexingError(str(exc)) from exc


@contextlib.contextmanager
def _torch_threads(model: Any, muq: Any, workers: int) -> Iterator[None]:
    """While the workers hold the cores, a CPU model gets only the cores they leave (at least one thread): with two
    OpenMP threads next to two busy workers on two cores the main process burnt ~25 % more CPU for the same work."""
    device = getattr(model, "device", None) or getattr(muq, "device", None)
    if (model is None and muq is None) or getattr(device, "type", "cpu") != "cpu":
        yield
        return
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(max(1, min(saved, (os.cpu_count() or 1) - workers)))
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@contextlib.contextmanager
def _single_thread_env() -> Iterator[None]:
    """Worker processes (and the forkserver) start with one BLAS/OpenMP thread each."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _worker_model_blob(model: Any, muq: Any) -> Optional[bytes]:
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


def _new_pool(workers: int, model_blob: Optional[bytes] = None) -> ProcessPoolExecutor:
    if sys.platform.startswith("linux") and not getattr(sys, "frozen", False):  # frozen apps: spawn is the safe one
        ctx = multiprocessing.get_context("forkserver")
        # Imported once in the server (with Essentia, ~1.2 s alone), inherited by every worker it forks.
        ctx.set_forkserver_preload(["explorer.library.preload"])
    else:
        ctx = multiprocessing.get_context("spawn")
    with _single_thread_env():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                                   initargs=(model_blob,))
        pool.submit(int, 0).result()  # start the workers now, inside the single-thread environment
    return pool


def _kill_pool(pool: Optional[ProcessPoolExecutor]) -> None:
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


class _Run:
    """State of one indexing run's analysis phase."""

    def __init__(self, cache: LibraryCache, model: Any, muq: Any, summary: IndexSummary, progress: Progress,
                 callback: Optional[ProgressCallback], cancel: Optional[CancelToken], extractor_version: str,
                 batch_size: int = BATCH_SIZE, musicnn: Any = None) -> None:
        self.batch_size = batch_size
        self.cache, self.model, self.muq = cache, model, muq
        self.musicnn = musicnn  # a GPU MusiCNN here in the main process; None: the workers run it on their CPU
        self.summary, self.progress, self.callback, self.cancel = summary, progress, callback, cancel
        self.extractor_version = extractor_version
        self.batch: list[WorkResult] = []
        self.failures: list[WorkResult] = []
        self.paths: dict[int, bytes] = {}

    def report(self, current: str = "") -> None:
        if current:
            self.progress.current = current
        if self.callback is not None:
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

    def flush(self) -> None:
        """MuQ + model on the finished batch, then one transaction for its features, results and failures."""
        batch, failures = self.batch, self.failures
        self.batch, self.failures = [], []
        if not batch and not failures:
            return
        step = self._inference_step()
        if batch and self.muq is not None:
            for start in range(0, len(batch), step):  # cancel is checked between small GPU/CPU steps
                self.check_cancel()
                part = batch[start:start + step]
                embedded = self.muq.embed([r.audio24k for r in part], batch_size=len(part))
                for r, vec in zip(part, embedded):
                    r.features.muq = np.asarray(vec, dtype=np.float32)
                    r.audio24k = None
        if self.musicnn is not None:
            embed_batch(self.musicnn, batch)
        if self.model is not None:
            todo = [r for r in batch if r.prediction is None]  # the rest were predicted by their worker
            for start in range(0, len(todo), step):
                self.check_cancel()
                part = todo[start:start + step]
                feats = [r.features for r in part]
                p = self.model.predict(
                    mel=[f.mel for f in feats],
                    lowlevel=np.stack([f.lowlevel for f in feats]),
                    genre=np.stack([f.genre for f in feats]),
                    muq=np.stack([f.muq for f in feats]) if all(f.muq is not None for f in feats) else None,
                    **musicnn_input(self.model, [f.musicnn for f in feats]),
                )
                for i, r in enumerate(part):
                    r.prediction = (p.tag_scores[i], p.quadrant_probs[i], p.embeddings[i])
        with self.cache.transaction():
            for r in batch:
                self.cache.update_tags(r.track_id, r.tags)
                self.cache.store_features(r.track_id, self.extractor_version, r.features)
                if self.model is not None and r.prediction is not None:
                    self.cache.store_analysis(r.track_id, self.model.version, *r.prediction)
            for r in failures:
                if r.tags:
                    self.cache.update_tags(r.track_id, r.tags)
                self.cache.record_failure(r.track_id, r.error or "unknown error")
        self.summary.analysed += len(batch)
        self.summary.failed += [(os.fsdecode(self.paths[r.track_id]), r.error or "") for r in failures]

    def model_only(self, track_ids: list[int]) -> None:
        """New model version: predictions from stored mel/lowlevel/genre/MuQ, no decoding."""
        self.progress.stage = "re-running the model"
        step = 256 if self._inference_step() > 2 else 2
        for start in range(0, len(track_ids), step):
            self.check_cancel()
            inputs = self.cache.stored_inputs(track_ids[start:start + step])
            if not inputs:
                continue
            muq = [x["muq"] for x in inputs]
            preds = self.model.predict(
                mel=[x["mel"] for x in inputs],
                lowlevel=np.stack([x["lowlevel"] for x in inputs]),
                genre=np.stack([x["genre"] for x in inputs]),
                muq=np.stack(muq) if all(m is not None for m in muq) else None,
                **musicnn_input(self.model, [x["musicnn"] for x in inputs]),
            )
            with self.cache.transaction():
                for i, x in enumerate(inputs):
                    self.cache.store_analysis(x["track_id"], self.model.version, preds.tag_scores[i],
                                              preds.quadrant_probs[i], preds.embeddings[i])
            self.summary.reanalysed += len(inputs)
            self.progress.done += len(inputs)
            self.report()

    # -- the worker pool ------------------------------------------------------------------------------------
    def extract_all(self, todo: list[tuple[int, bytes]], workers: int) -> None:
        self.progress.stage = "analysing"
        self.paths.update(todo)
        queue: deque[tuple[int, bytes]] = deque(todo)
        suspects: deque[tuple[int, bytes]] = deque()  # in flight when a worker crashed: retried one at a time
        inflight: dict[Future, tuple[int, bytes]] = {}
        isolated: Optional[tuple[int, bytes]] = None
        want_audio = self.muq is not None
        musicnn_here = self.musicnn is None
        model_blob = _worker_model_blob(self.model, self.muq)
        pool = _new_pool(workers, model_blob)
        try:
            while queue or suspects or inflight:
                self.check_cancel()
                if suspects:
                    if not inflight:
                        isolated = suspects.popleft()
                        inflight[pool.submit(extract, isolated[0], isolated[1], want_audio, musicnn_here)] = isolated
                else:
                    while len(inflight) < max(workers * 4, 2 * self.batch_size) and queue:  # enough queued that
                        # workers stay busy while this thread runs the model on a finished batch
                        item = queue.popleft()
                        inflight[pool.submit(extract, item[0], item[1], want_audio, musicnn_here)] = item
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
                        res = WorkResult(item[0], {}, error=f"{type(exc).__name__}: {exc}")
                    self.accept(res)
                if crashed:
                    crashed += list(inflight.values())
                    inflight.clear()
                    if crashed == [isolated]:  # crashed while alone in the pool: the culprit
                        self.accept(WorkResult(crashed[0][0], {}, error=CRASH_REASON))
                    else:
                        suspects.extend(crashed)
                    _kill_pool(pool)
                    pool = _new_pool(workers, model_blob)
                if len(self.batch) + len(self.failures) >= self.batch_size or not (queue or suspects or inflight):
                    self.flush()  # workers keep decoding the queued files meanwhile
        finally:
            _kill_pool(pool)


def index_library(
    root: Union[str, os.PathLike],
    cache: LibraryCache,
    *,
    workers: Optional[int] = None,
    model: Any = None,
    muq: Any = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    batch_size: int = BATCH_SIZE,
) -> IndexSummary:
    """Bring `cache` up to date with the audio files under `root`; raises Cancelled when `cancel` fires.

    model: an EmotionModel, a checkpoint folder, None for the shipped default (features only if none is
    installed), or False for features only. muq: a MuQEmbedder, a weights folder, or None (no MuQ). batch_size:
    files per model batch and per committed transaction.
    """
    from core.features.track import EXTRACTOR_VERSION

    started = time.monotonic()
    root_path = Path(os.path.abspath(os.fspath(root)))
    if not root_path.is_dir():
        raise IndexingError(f"library folder not found: {root_path}")
    model, muq = _resolve_model(model), _resolve_muq(muq)
    if model is not None and getattr(model, "uses_muq", False) and muq is None:
        raise IndexingError("this emotion model needs MuQ embeddings: give the MuQ weights folder (--muq-dir)")
    workers = max(1, int(workers or os.cpu_count() or 1))
    summary = IndexSummary(model_version=getattr(model, "version", None), extractor_version=str(EXTRACTOR_VERSION))
    state = Progress(stage="scanning")
    run = _Run(cache, model, muq, summary, state, progress, cancel, str(EXTRACTOR_VERSION), max(1, int(batch_size)),
               musicnn=gpu_musicnn(model))
    run.report()
    files = list(scan_audio_files(root_path))
    run.check_cancel()
    plan = plan_run(cache, files, extractor_version=str(EXTRACTOR_VERSION), model_version=summary.model_version,
                    need_muq=muq is not None, cancel=cancel)
    for name in ("added", "updated", "moved", "removed", "unchanged", "resumed"):
        setattr(summary, name, getattr(plan, name))
    state.total = len(plan.extract) + (len(plan.model_only) if model is not None else 0)
    run.report()
    if model is not None and plan.model_only:
        run.model_only(plan.model_only)
    if plan.extract:
        with _torch_threads(model, muq, min(workers, len(plan.extract))):
            run.extract_all(plan.extract, min(workers, len(plan.extract)))
    summary.failed += plan.vanished
    state.stage = "saving"
    run.report()
    cache.load_arrays()  # rebuilds the column snapshot now, so the first load_arrays() after indexing is instant
    summary.elapsed = time.monotonic() - started
    state.stage = "done"
    run.report("")
    return summary
