"""The finished-files half of an indexing run: MuQ, MusiCNN and the emotion model in batches, then one
transaction per batch.

Split out of explorer.library.indexer, which keeps the worker pool and the run's order of steps, so that each module
has one job. `BatchRun` holds a run's progress and what the workers finished; `flush()` runs the models on a batch and
commits its features, results and failures together, so a killed run leaves a consistent cache and the next one
resumes. The indexer's `_Run` (and the GPU and Ray runs built on it) subclass it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from core.features.track import model_inputs, stack_model_inputs
from core.progress import Cancelled, CancelToken, Progress, ProgressCallback
from explorer.library.cache import LibraryCache
from explorer.library.failures import MODEL, TRANSIENT
from explorer.library.pretrained import embed_batch
from explorer.library.summary import IndexSummary
from explorer.library.worker import WorkResult

BATCH_SIZE = 32


class BatchRun:
    """One indexing run's state and progress, and the model + storage of the files its workers finished."""

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
                p = self.model.predict(**model_inputs(feats))
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
            try:
                preds = self.model.predict(**stack_model_inputs(inputs))
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
