"""The indexer's run with the GPU pipeline plugged in: decode-only workers, batched GPU stages, async storage.

`GpuPipeline` is what `index_library(..., pipeline=...)` takes: "auto" picks it when CUDA is present. It keeps the
timings `bench/index.py` reports (decode, each GPU stage, SQLite) after the run.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from explorer.library.gpu_pipeline import (
    Decoded,
    GpuScheduler,
    StageTimes,
    cuda_devices,
    decode,
    decode_workers,
    sizing,
    spool_dir,
)


@dataclass
class GpuPipeline:
    """Which devices run the GPU stages (default: every visible CUDA device) and where the time went."""

    devices: list[str] = field(default_factory=cuda_devices)
    batch_size: int | None = None  # None: sized from the smallest device's memory (gpu_pipeline.sizing)
    times: StageTimes = field(default_factory=StageTimes)
    decode_s: float = 0.0  # summed over workers (wall time inside the worker function)
    sqlite_s: float = 0.0  # main thread, inside transactions
    wait_gpu_s: float = 0.0  # main thread blocked on a full GPU queue

    def make_run(self, base: type, *args: Any, **kwargs: Any) -> Any:
        """A `base` (the indexer's `_Run`) subclass instance that feeds this pipeline."""
        if not self.devices:
            raise RuntimeError("the GPU pipeline was asked for, but no CUDA device is visible")
        return _gpu_run_class(base)(self, *args, **kwargs)

    def summary(self) -> dict[str, float]:
        t = self.times
        return {
            "devices": len(self.devices),
            "gpu_batches": t.batches,
            "gpu_clips": t.clips,
            "decode_s_sum": round(self.decode_s, 2),
            "gpu_features_s": round(t.features, 2),
            "gpu_muq_s": round(t.muq, 2),
            "gpu_model_s": round(t.model, 2),
            "sqlite_s": round(self.sqlite_s, 2),
            "main_wait_gpu_s": round(self.wait_gpu_s, 2),
        }


def _gpu_run_class(base: type) -> type:
    class GpuRun(base):  # type: ignore[misc, valid-type]
        worker_fn = staticmethod(decode)

        def __init__(self, pipeline: GpuPipeline, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pipeline = pipeline
            batch, self.muq_step, self.per_device = sizing(pipeline.devices)
            self.batch_size = pipeline.batch_size or batch  # GPU batches follow the card, not the CPU default
            self.scheduler: GpuScheduler | None = None

        def worker_kwargs(self) -> dict[str, Any]:
            return {}  # decode-only workers: MusiCNN runs in the GPU stages

        def default_workers(self) -> int:
            return decode_workers(os.cpu_count() or 1, len(self.pipeline.devices), self.per_device)

        def flush(self, run_model: bool = True) -> None:
            """Hand the decoded batch to a GPU stage and store whatever batches the stages have finished.

            After a cancel (`run_model=False`) decoded files that never reached a GPU stay pending: without
            their GPU features there is nothing to store, and the next run resumes them."""
            batch, failures = self.batch, self.failures
            self.batch, self.failures = [], []
            if failures:
                self._store([], failures)
            if batch and run_model:
                self.pipeline.decode_s += sum(getattr(r, "decode_s", 0.0) for r in batch)
                self.scheduler.submit(batch)
            elif batch:
                for r in batch:
                    r.discard()
            t0 = time.perf_counter()
            done = self.scheduler.ready(block=run_model)
            self.pipeline.wait_gpu_s += time.perf_counter() - t0
            for finished in done:
                self._store_finished(finished)

        def _store_finished(self, finished: list[Decoded]) -> None:
            self._store([r for r in finished if r.error is None], [r for r in finished if r.error is not None])

        def _store(self, batch: list[Decoded], failures: list[Decoded]) -> None:
            t0 = time.perf_counter()
            self._commit(batch, failures)  # the indexer's own transaction: same rows, kinds and summary
            self.pipeline.sqlite_s += time.perf_counter() - t0

        def extract_all(self, todo: list[tuple[int, bytes]], workers: int) -> None:
            spool = spool_dir()  # decoded excerpts travel through files here, not through the result pipe
            self.worker_fn = functools.partial(decode, spool=spool)
            self.scheduler = GpuScheduler(self.pipeline.devices, self.model, self.muq, self.per_device, self.muq_step)
            self.scheduler.times = self.pipeline.times
            for stage in self.scheduler.stages:
                stage.times = self.pipeline.times
            try:
                try:
                    super().extract_all(todo, workers)
                finally:  # the last batches, still on the GPUs (also after a cancel: they are done work)
                    for finished in self.scheduler.drain():
                        self._store_finished(finished)
            finally:
                self.scheduler.close()
                shutil.rmtree(spool, ignore_errors=True)

    return GpuRun


def resolve_pipeline(pipeline: Any) -> Any:
    """ "cpu" -> None (features in the workers); "gpu" -> every CUDA device; "auto" -> "gpu" when CUDA is there."""
    if pipeline is None or hasattr(pipeline, "make_run"):  # a GpuPipeline, a RayPipeline ...
        return pipeline
    if pipeline == "cpu":
        return None
    if pipeline in ("gpu", "auto"):
        devices = cuda_devices()
        if devices:
            return GpuPipeline(devices)
        if pipeline == "gpu":
            raise RuntimeError("--pipeline gpu: no CUDA device is visible")
        return None
    raise ValueError(f"unknown indexing pipeline {pipeline!r} (auto, cpu or gpu)")
