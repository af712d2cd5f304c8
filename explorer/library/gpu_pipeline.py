"""GPU-bound indexing: CPU workers only decode + resample, every feature and model runs batched on the GPU(s).

On a CPU-only machine the per-track features are cheapest computed next to the decoder (`worker.extract`). With
a GPU that split makes the CPU the bottleneck (about 0.3 CPU s per track for mel + descriptors), so here the
workers return the decoded 16 kHz (and 24 kHz, for MuQ) excerpt and nothing else (explorer.library.gpu_decode),
and one `GpuStage` per device computes mel, low-level + interpretive descriptors (`core.features.batched`), the
MuQ embedding and the emotion model for a whole batch at once. Batches go round-robin to the devices, each stage
on its own thread (torch releases the GIL while kernels run), while the main thread keeps the decoders fed and
writes finished batches to SQLite: decoding, GPU work and storage overlap. The run's guarantees (incremental,
resumable, one failure per bad file, a crashing decoder costs one file) are the CPU indexer's: this is the same
`_Run` with another worker function and another flush.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.features.genre import genre_vector
from core.features.track import TrackFeatures, model_inputs
from explorer.library.failures import TRANSIENT
from explorer.library.gpu_decode import MUQ_RATE, Decoded, decode, spool_dir

__all__ = [  # the decode side (explorer.library.gpu_decode) is re-exported: the indexer imports it from here
    "GPU_BATCH",
    "MAX_PENDING_PER_DEVICE",
    "MUQ_RATE",
    "MUQ_STEP",
    "REFERENCE_GB",
    "STAGES_PER_DEVICE",
    "Decoded",
    "GpuScheduler",
    "GpuStage",
    "StageTimes",
    "cuda_devices",
    "decode",
    "decode_workers",
    "sizing",
    "spool_dir",
]

GPU_BATCH = 128  # clips per GPU batch: MuQ-large on 30 s excerpts keeps an H200 busy at this size
MUQ_STEP = 64  # clips per MuQ forward pass inside a batch (bounds the activation memory)
STAGES_PER_DEVICE = 2  # two batches in flight per device, each on its own CUDA stream: one's descriptors overlap
# the other's MuQ, and one thread's Python (kernel launches, host copies) overlaps the other's GPU work
MAX_PENDING_PER_DEVICE = 3  # batches queued on a device before the main thread waits for one to finish
REFERENCE_GB = 80.0  # the sizes above are for a card of this much memory; smaller cards get proportionally less


def sizing(devices: list[str]) -> tuple[int, int, int]:
    """(clips per batch, clips per MuQ pass, stages per device) for the smallest of `devices`: 128 / 64 / 2 on
    an 80 GB card (44 GB peak measured with full-size MuQ on an H200), scaled down so a desktop GPU does not run out
    of memory (an 8 GB card: 12 / 6 / 1)."""
    try:
        import torch

        gb = min(torch.cuda.get_device_properties(d).total_memory for d in devices if d.startswith("cuda")) / 2**30
    except (ValueError, RuntimeError, AssertionError, ImportError):  # no CUDA device in the list (tests on a CPU)
        return GPU_BATCH, MUQ_STEP, STAGES_PER_DEVICE
    share = min(1.0, gb / REFERENCE_GB)
    batch = max(4, int(GPU_BATCH * share))
    return batch, max(2, min(MUQ_STEP, batch // 2)), STAGES_PER_DEVICE if gb >= REFERENCE_GB / 2 else 1


def decode_workers(cores: int, devices: int, stages_per_device: int) -> int:
    """Decode workers that keep the GPU stages fed without starving them: every core but one per GPU stage thread
    (each launches its kernels from Python) and two for the main thread (spool reads, SQLite) and the system.
    On an H200 host with 16 cores (12 workers) this indexed 4,000 full-length tracks at 6,873 tracks/min, against
    5,754-6,093 with 15 workers, whose decoding took the cores the stage threads needed (docs/benchmarks.md)."""
    return max(1, cores - devices * stages_per_device - 2)


def cuda_devices() -> list[str]:
    """Every visible CUDA device ("cuda:0", ...); empty without torch or a GPU."""
    try:
        import torch
    except ImportError:
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


@dataclass
class StageTimes:
    """Seconds spent per GPU stage (summed over batches and devices) and clips processed."""

    features: float = 0.0
    muq: float = 0.0
    model: float = 0.0
    clips: int = 0
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **secs: float) -> None:
        with self.lock:
            for k, v in secs.items():
                setattr(self, k, getattr(self, k) + v)


class GpuStage:
    """Features, MuQ and the emotion model of whole batches on one device (its own model copies)."""

    def __init__(self, device: str, model: Any = None, muq: Any = None, times: StageTimes | None = None) -> None:
        import torch

        self.device = device
        self.model = _model_on(model, device)
        self.muq = _muq_on(muq, device)
        self.times = times or StageTimes()
        self.stream = torch.cuda.Stream(device) if device.startswith("cuda") else None
        self.musicnn = _musicnn_on(device)
        self.muq_step = MUQ_STEP

    def _sync(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()

    def run(self, batch: list[Decoded]) -> list[Decoded]:
        """Fill `.features` (and `.prediction` when a model is set) of every result, in place. A batch that fails
        is retried clip by clip, so one unusable clip costs itself (recorded as its error), not its batch."""
        try:
            return self._on_stream(batch)
        except Exception:
            pass
        for r in batch:
            try:
                self._on_stream([r])
            except Exception as exc:
                r.features, r.prediction = None, None
                r.error = f"feature extraction failed: {type(exc).__name__}: {exc}"
                r.error_kind = TRANSIENT  # the GPU's trouble (memory, driver), not the file's: retried next run
        return batch

    def _on_stream(self, batch: list[Decoded]) -> list[Decoded]:
        import torch

        if self.stream is None:
            return self._run(batch)
        with torch.cuda.device(self.device), torch.cuda.stream(self.stream):
            return self._run(batch)

    def _run(self, batch: list[Decoded]) -> list[Decoded]:
        import torch

        from core.features.batched import batch_features
        from core.features.batched_musicnn import musicnn_batch_vectors
        from core.features.track import apply_musicnn

        t0 = time.perf_counter()
        groups: dict[int, list[Decoded]] = defaultdict(list)  # equal lengths batch without padding
        for r in batch:
            groups[r.n16].append(r)
        pin = self.device.startswith("cuda")
        for n16, items in groups.items():
            host = torch.empty((len(items), n16), dtype=torch.float32, pin_memory=pin)
            arr = host.numpy()
            for i, r in enumerate(items):
                r.load_waves(arr[i], np.empty(r.n24, np.float32) if r.n24 else None)
            wave = host.to(self.device, non_blocking=True)
            out = batch_features(wave)
            vectors = musicnn_batch_vectors(self.musicnn, wave) if self.musicnn is not None else None
            for i, r in enumerate(items):
                r.features = TrackFeatures(
                    path="",
                    duration=r.duration,
                    excerpt_start=r.excerpt_start,
                    mel=out.mel[i],
                    lowlevel=out.lowlevel[i],
                    interpretive=out.interpretive[i],
                    muq=None,
                    genre=genre_vector(r.tags.get("genre")),
                    tags=dict(r.tags),
                )
                if vectors is not None:  # MusiCNN (and the genre it infers for untagged files) before the model
                    apply_musicnn(r.features, vectors[i])
        t1 = time.perf_counter()
        if self.muq is not None:
            emb = self.muq.embed([r.audio24k for r in batch], batch_size=self.muq_step)
            for r, vec in zip(batch, emb):
                r.features.muq = np.asarray(vec, dtype=np.float32)
        self._sync()
        t2 = time.perf_counter()
        if self.model is not None:
            feats = [r.features for r in batch]
            p = self.model.predict(batch_size=len(feats), **model_inputs(feats))
            for i, r in enumerate(batch):
                r.prediction = (p.tag_scores[i], p.quadrant_probs[i], p.embeddings[i])
        t3 = time.perf_counter()
        for r in batch:  # the waveforms are done with: free them before the batch waits to be stored
            r.audio16k = r.audio24k = None
        self.times.add(features=t1 - t0, muq=t2 - t1, model=t3 - t2, clips=len(batch), batches=1)
        return batch


def _musicnn_on(device: str) -> Any:
    """The MusiCNN branch on `device` when this build has it (core.features.musicnn), else None."""
    try:
        from core.features.musicnn import load_musicnn
        from explorer.library import pretrained  # noqa: F401
    except ImportError:
        return None
    return load_musicnn(device)


def _same_device(a: Any, b: str) -> bool:
    import torch

    def key(d: Any) -> tuple[str, int | None]:
        d = torch.device(d)
        index = d.index if d.index is not None else (torch.cuda.current_device() if d.type == "cuda" else None)
        return d.type, index

    return a is not None and key(a) == key(b)


def _model_on(model: Any, device: str) -> Any:
    """The emotion model on `device`: itself when already there, else a copy moved there now (not lazily by its
    first predict, which two stage threads sharing the copy could race on)."""
    if model is None or _same_device(getattr(model, "device", None), device):
        return model
    import torch

    clone = copy.deepcopy(model)
    clone.device = torch.device(device)
    for net, _ in getattr(clone, "_voters", []):
        net.to(clone.device)
    return clone


def _muq_on(muq: Any, device: str) -> Any:
    if muq is None or _same_device(getattr(muq, "device", None), device):
        return muq
    from core.features.muq_embed import MuQEmbedder

    return MuQEmbedder(copy.deepcopy(muq.model).cpu(), device=device, layer=muq.layer, source=muq.source)


class GpuScheduler:
    """Round-robin batches over one `GpuStage` per device, each on its own thread, at most a few queued each."""

    def __init__(
        self,
        devices: list[str],
        model: Any,
        muq: Any,
        stages_per_device: int = STAGES_PER_DEVICE,
        muq_step: int = MUQ_STEP,
    ) -> None:
        if not devices:
            raise ValueError("the GPU pipeline needs at least one device")
        self.per_device = max(1, int(stages_per_device))
        self.times = StageTimes()
        self.stages = []
        for d in devices:
            first = GpuStage(d, model, muq, self.times)  # one copy of the models per device, shared by its stages
            self.stages += [first] + [
                GpuStage(d, first.model, first.muq, self.times) for _ in range(self.per_device - 1)
            ]
        for stage in self.stages:
            stage.muq_step = muq_step
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"qfx-{s.device}") for s in self.stages]
        self.pending: deque[Future] = deque()
        self._next = 0

    def submit(self, batch: list[Decoded]) -> None:
        k = self._next % len(self.stages)
        self._next += 1
        self.pending.append(self.pools[k].submit(self.stages[k].run, batch))

    def ready(self, block: bool = False) -> list[list[Decoded]]:
        """Finished batches in submission order; `block` waits until the queue is below its limit."""
        out = []
        limit = MAX_PENDING_PER_DEVICE * len(self.stages) // self.per_device
        while self.pending and (self.pending[0].done() or (block and len(self.pending) >= limit)):
            out.append(self.pending.popleft().result())
        return out

    def drain(self) -> list[list[Decoded]]:
        out = [f.result() for f in self.pending]
        self.pending.clear()
        return out

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)
