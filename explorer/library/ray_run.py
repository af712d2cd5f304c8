"""The indexer's run with Ray plugged in (see `ray_index`): tasks instead of the process pool, actors for the model."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from explorer.library.failures import PERMANENT, TRANSIENT
from explorer.library.ray_index import CRASH_REASON, EmotionActor, _extract_task, cluster_gpus, model_blob, task_options
from explorer.library.worker import WorkResult

MAX_PENDING_PER_ACTOR = 2


def ray_run_class(base: type) -> type:
    class RayRun(base):  # type: ignore[misc, valid-type]
        def __init__(self, pipeline: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pipeline = pipeline
            self.actors: list[Any] = []
            self.pending: deque[tuple[list[WorkResult], Any]] = deque()
            self._next = 0

        # -- the emotion actors ------------------------------------------------------------------------
        def _start_actors(self, ray: Any) -> None:
            if self.model is None and self.pipeline.muq_dir is None:
                return
            gpus = cluster_gpus(ray)
            actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0)(EmotionActor)
            blob = model_blob(self.model)
            self.actors = [actor.remote(blob, self.pipeline.muq_dir) for _ in range(max(1, gpus))]

        def flush(self, run_model: bool = True) -> None:
            """Failures are stored now; a finished batch goes to an actor and is stored when it comes back."""
            batch, failures = self.batch, self.failures
            self.batch, self.failures = [], []
            if failures:
                self._store([], failures)
            if batch and self.actors and run_model:
                feats = [r.features for r in batch]
                audio = [r.audio24k for r in batch] if self.pipeline.muq_dir else None
                actor = self.actors[self._next % len(self.actors)]
                self._next += 1
                ref = actor.run.remote(
                    [f.mel for f in feats],
                    np.stack([f.lowlevel for f in feats]),
                    np.stack([f.genre for f in feats]),
                    audio,
                )
                for r in batch:
                    r.audio24k = None
                self.pending.append((batch, ref))
            elif batch:
                self._store(batch, [])
            self._collect(block=False)

        def _collect(self, block: bool) -> None:
            import ray

            limit = 0 if block else MAX_PENDING_PER_ACTOR * max(1, len(self.actors))
            while self.pending:
                ready, _ = ray.wait([self.pending[0][1]], timeout=0 if len(self.pending) <= limit else None)
                if not ready:
                    break
                batch, ref = self.pending.popleft()
                t0 = time.perf_counter()
                muq, pred = ray.get(ref)
                self.pipeline.times["actor_s"] += time.perf_counter() - t0
                for i, r in enumerate(batch):
                    if muq is not None:
                        r.features.muq = np.asarray(muq[i], dtype=np.float32)
                    if pred is not None:
                        r.prediction = (pred[0][i], pred[1][i], pred[2][i])
                self._store(batch, [])

        def _store(self, batch: list[WorkResult], failures: list[WorkResult]) -> None:
            t0 = time.perf_counter()
            self._commit(batch, failures)  # the indexer's own transaction: same rows, kinds and summary
            self.pipeline.times["commit_s"] += time.perf_counter() - t0

        # -- the tasks -----------------------------------------------------------------------------------
        def extract_all(self, todo: list[tuple[int, bytes]], workers: int) -> None:
            ray = self.pipeline.connect()
            mode = self.pipeline.check_files(todo)
            self.progress.stage = "analysing"
            self.paths.update(todo)
            self._start_actors(ray)
            task = ray.remote(**task_options(ray))(_extract_task)
            want_audio = self.pipeline.muq_dir is not None
            window = max(2 * self.batch_size, 4 * int(ray.cluster_resources().get("CPU", 1)))
            queue: deque[tuple[int, bytes]] = deque(todo)
            inflight: dict[Any, tuple[int, bytes]] = {}
            try:
                while queue or inflight:
                    self.check_cancel()
                    while queue and len(inflight) < window:
                        track_id, path = queue.popleft()
                        content = None
                        if mode == "bytes":
                            try:
                                with open(path, "rb") as fh:
                                    content = fh.read()
                            except OSError as exc:
                                self.accept(
                                    WorkResult(
                                        track_id, {}, error=f"cannot read file: {exc.strerror}", error_kind=TRANSIENT
                                    )
                                )
                                continue
                        inflight[task.remote(track_id, path, want_audio, content)] = (track_id, path)
                    if not inflight:
                        continue
                    done, _ = ray.wait(list(inflight), num_returns=len(inflight), timeout=0.2)
                    for ref in done:
                        track_id, _path = inflight.pop(ref)
                        try:
                            res = ray.get(ref)
                        except Exception as exc:  # the worker died (twice) or the task raised: one file
                            died = "died" in str(exc).lower() or "crash" in str(exc).lower()
                            reason = CRASH_REASON if died else f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                            res = WorkResult(track_id, {}, error=reason, error_kind=PERMANENT if died else TRANSIENT)
                        self.pipeline.times["tasks"] += 1
                        if res.features is not None:  # the worker's own per-stage clock (decode, mel, ...)
                            self.pipeline.times["task_s_sum"] += sum(getattr(res.features, "timings", {}).values())
                        self.accept(res)
                    if len(self.batch) + len(self.failures) >= self.batch_size or not (queue or inflight):
                        self.flush()
                self.flush()
                self._collect(block=True)
            except BaseException:
                for ref in inflight:
                    ray.cancel(ref, force=True)
                raise
            finally:
                for actor in self.actors:
                    ray.kill(actor)

    return RayRun
