"""Distributed indexing on a Ray cluster: decode + feature tasks on CPU nodes, model/MuQ actors on GPU nodes.

The local machine still scans, plans and owns the cache (so a Ray run is incremental, resumable and free of
duplicates exactly like a local one: the same `plan_run`, the same track ids, the same transactions). What
changes is where the work runs: every file becomes one Ray task running the local worker function
(`worker.extract`: tags, decode, mel, descriptors), and finished batches go to `EmotionActor`s (one per GPU in
the cluster, or one on a CPU) that run MuQ and the emotion model. Results stream back and are stored batch by
batch; a task whose worker dies costs that one file, recorded with its reason.

Workers need the audio. Two ways, checked before any work starts (docs/ARCHITECTURE.md, Distributed indexing):
* the same path on every node (a shared mount): probed by a task pinned to each node;
* `ship_bytes=True` (`--ray-ship-bytes`): the driver reads each file and ships its bytes with the task.
When neither holds the run is refused with the list of nodes that cannot read the files.

Ray is an optional extra (`pip install 'quadfusion-explorer[ray]'`); every node needs this package installed.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PROBE_FILES = 3  # files each node must be able to read (same size as here) for the shared-path mode
CRASH_REASON = "the worker analysing this file died"


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("distributed indexing needs Ray: pip install 'quadfusion-explorer[ray]'") from exc
    return ray


def _extract_task(track_id: int, path: bytes, want_audio24k: bool, content: bytes | None) -> Any:
    """One file on a cluster worker: the local worker function, on the shared path or on shipped bytes."""
    import torch

    from explorer.library.worker import extract

    torch.set_num_threads(1)  # a task is one core's worth of work (Ray schedules one task per CPU)
    if content is None:
        return extract(track_id, path, want_audio24k)
    with tempfile.TemporaryDirectory(prefix="qfx-ray-") as tmp:
        local = os.path.join(tmp, os.path.basename(os.fsdecode(path)) or "track")
        with open(local, "wb") as fh:
            fh.write(content)
        res = extract(track_id, os.fsencode(local), want_audio24k)
    if res.features is not None:
        res.features.path = os.fsdecode(path)
    return res


def _probe_task(samples: list[tuple[bytes, int]]) -> tuple[str, list[str]]:
    """(node address, paths this node cannot read with the expected size)."""
    import ray

    bad = []
    for path, size in samples:
        try:
            if os.path.getsize(path) != size:
                bad.append(os.fsdecode(path))
        except OSError:
            bad.append(os.fsdecode(path))
    return ray.util.get_node_ip_address(), bad


class EmotionActor:
    """MuQ + the emotion model of whole batches, on the GPU Ray gave this actor (or the CPU)."""

    def __init__(self, model_blob: bytes | None, muq_dir: str | None) -> None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = pickle.loads(model_blob) if model_blob else None  # moved to `device` by its first predict
        self.device = device
        self.muq = None
        if muq_dir:
            from core.features.muq_embed import load_muq_embedder

            self.muq = load_muq_embedder(muq_dir, device=device)

    def run(self, mel: list, lowlevel: np.ndarray, genre: np.ndarray, audio24k: list | None) -> tuple:
        muq = self.muq.embed(audio24k, batch_size=32) if self.muq is not None and audio24k else None
        if self.model is None:
            return muq, None
        p = self.model.predict(mel=mel, lowlevel=lowlevel, genre=genre, muq=muq, device=self.device)
        return muq, (p.tag_scores, p.quadrant_probs, p.embeddings)


def choose_transfer(unreadable: dict[str, list[str]], ship_bytes: bool) -> str:
    """ "bytes" when asked for, "path" when every node reads the files, else a clear refusal (IndexingError)."""
    from explorer.library.indexer import IndexingError

    if ship_bytes:
        return "bytes"
    bad = {node: paths for node, paths in unreadable.items() if paths}
    if not bad:
        return "path"
    lines = "; ".join(f"node {node} cannot read {paths[0]}" for node, paths in sorted(bad.items()))
    raise IndexingError(
        f"{len(bad)} of {len(unreadable)} Ray nodes cannot read the library ({lines}). Mount it "
        f"under the same path on every node, or pass --ray-ship-bytes to send file contents."
    )


@dataclass
class RayPipeline:
    """Where a Ray-distributed run goes: `address` ("auto", "ray://host:10001", or None for an already
    initialised Ray), whether files are shipped as bytes, and the timings of the last run."""

    address: str | None = "auto"
    ship_bytes: bool = False
    muq_dir: str | None = None  # MuQ weights folder readable on the actors' nodes (MuQ runs there)
    transfer: str = ""
    times: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("tasks", "task_s_sum", "actor_s", "commit_s"), 0.0)
    )

    def connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
            except Exception as exc:  # ConnectionError and friends, whatever the Ray version raises
                raise RayUnavailable(f"cannot connect to the Ray cluster at {self.address}: {exc}") from exc
        return ray

    def check_files(self, todo: list[tuple[int, bytes]]) -> str:
        ray = self.connect()
        if self.ship_bytes:
            self.transfer = "bytes"
            return self.transfer
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        samples = []
        for _, path in todo[:PROBE_FILES]:
            try:
                samples.append((path, os.path.getsize(path)))
            except OSError:
                continue
        probe = ray.remote(num_cpus=0)(_probe_task)
        refs = [
            probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(samples)
            for n in ray.nodes()
            if n.get("Alive")
        ]
        self.transfer = choose_transfer(dict(ray.get(refs)), False)
        return self.transfer

    def make_run(self, base: type, *args: Any, **kwargs: Any) -> Any:
        from explorer.library.ray_run import ray_run_class

        return ray_run_class(base)(self, *args, **kwargs)

    def summary(self) -> dict[str, Any]:
        return {"transfer": self.transfer, **{k: round(v, 3) for k, v in self.times.items()}}


def cluster_gpus(ray: Any) -> int:
    return int(ray.cluster_resources().get("GPU", 0))


def task_options(ray: Any) -> dict[str, Any]:
    """One CPU per decode/feature task; a retry when its worker dies, then the file is recorded as failed."""
    return {"num_cpus": 1, "max_retries": 1}


def model_blob(model: Any) -> bytes | None:
    """The emotion model pickled on the CPU (whatever device it is on here), for the actors to load."""
    if model is None:
        return None
    import copy

    import torch

    clone = copy.deepcopy(model)
    clone.device = torch.device("cpu")
    for net, _ in getattr(clone, "_voters", []):
        net.to("cpu")
    return pickle.dumps(clone, protocol=pickle.HIGHEST_PROTOCOL)
