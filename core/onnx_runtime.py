"""The emotion model on ONNX Runtime: what a torch-free install runs (and the CPU default everywhere).

`OnnxEmotionModel` mirrors `core.inference.EmotionModel` (same profiles, normalisation, mel fitting, ensemble
vote, shared-trunk test-time crops and cache version) on the graphs written by core/onnx_export.py; the numpy
parts are the very same functions (core.inference_base). Parity with torch is tested to 1e-4 on demo clips
(tests/test_onnx_runtime.py). The CUDA provider is used when onnxruntime-gpu offers it.

A pickled model carries its graphs' bytes and rebuilds its sessions in the receiving process (the indexer sends
the model to its worker processes), where `set_threads(1)` keeps each worker on its own core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, read_checkpoint_config
from core.inference_base import (
    ModelBase,
    model_version,
    norm_table,
    pooled_length,
    resolve_profile,
    trunk_windows,
    tta_starts,
)
from core.onnx_checkpoint import (  # re-exported: the graph files, precisions and interface are named from here
    ONNX_FORMAT,
    PRECISION_ENV,
    PRECISIONS,
    ModelInterface,
    _check_running_code,
    _interface,
    _read_graph,
    _resolve_precision,
)
from core.runtime import default_threads, onnx_cuda_available
from core.stacking import HEAD_NAMES

__all__ = ["ONNX_FORMAT", "PRECISIONS", "PRECISION_ENV", "ModelInterface", "OnnxEmotionModel", "RuntimeDevice"]


@dataclass(frozen=True)
class RuntimeDevice:
    """Where the graphs run; `.type` is "cpu" or "cuda", like a torch.device, which is all callers look at."""

    type: str

    def __str__(self) -> str:
        return self.type


class _Voter:
    """One exported graph with its own normalisation; the session is built lazily (and again after unpickling)."""

    def __init__(self, blob: bytes, normalization: dict[str, Any]) -> None:
        self.blob = blob
        self.norm = norm_table(normalization)
        self.session: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"blob": self.blob, "norm": self.norm, "session": None}

    def run(self, feeds: dict[str, np.ndarray], device: RuntimeDevice, threads: int) -> list[np.ndarray]:
        if self.session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if threads > 0:
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
            providers = (
                ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
            )
            self.session = ort.InferenceSession(self.blob, sess_options=options, providers=providers)
        return self.session.run(None, feeds)


class OnnxEmotionModel(ModelBase):
    """A checkpoint (one model or an ensemble) on ONNX Runtime, with EmotionModel's interface."""

    def __init__(
        self,
        meta: dict[str, Any],
        voters: Sequence[_Voter],
        version: str,
        device: RuntimeDevice,
        profile: str,
        threads: int = 0,
    ) -> None:
        self.meta = meta
        self.version = version
        self.device = device
        self.profile = profile
        self.threads = threads  # 0 = ONNX Runtime's default (every core)
        self.precision = "fp32"
        self._voters = list(voters)
        self.config = _interface(meta)
        spec = meta.get("inference") or {}
        self.tta_crops = int(spec.get("tta_crops") or 1)
        self.tta_frames = spec.get("tta_frames")
        # probe mix / arousal adjustment after the vote (core.stacking), as EmotionModel
        self._heads = {k: spec[k] for k in HEAD_NAMES if spec.get(k)}

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str | None = None,
        profile: str | None = None,
        threads: int | None = None,
        precision: str | None = None,
        **checks: Any,
    ) -> OnnxEmotionModel:
        """Load the exported checkpoint folder `path`; raises CheckpointError (missing, stale or damaged graph,
        incompatible checkpoint) or InferenceError (unknown profile or precision).

        `precision` ("fp32" or "int8") defaults to $QFX_ONNX_PRECISION, else int8 on the CPU when the checkpoint
        ships int8 graphs, else fp32."""
        directory = Path(path)
        doc = read_checkpoint_config(directory)
        _check_running_code(doc, directory, checks)
        want_cuda = device is None or str(device).startswith("cuda")
        dev = RuntimeDevice("cuda" if want_cuda and onnx_cuda_available() else "cpu")
        chosen = resolve_profile(profile, dev)
        cheap = "mel" not in _interface(doc).branches  # members without a mel CNN cost microseconds: always vote
        folders = [directory] + [
            directory / m for m in (doc.get("inference") or {}).get("members", []) if chosen == "full" or cheap
        ]
        kind = _resolve_precision(precision, dev, folders)
        voters = []
        for folder in folders:
            member = doc if folder == directory else read_checkpoint_config(folder)
            if member["tags"] != doc["tags"] or member["model"] != doc["model"] and folder != directory:
                if _interface(member) != _interface(doc):
                    raise CheckpointError(f"ensemble member {folder} has other inputs or outputs than {directory}")
            voters.append(_Voter(_read_graph(folder, kind), member["normalization"]))
        files = [f for folder in folders for f in (folder / WEIGHTS_FILE, folder / CONFIG_FILE)]
        meta = {k: v for k, v in doc.items() if k not in ("format", "format_version")}
        # fp32 shares torch's version (same outputs within 1e-4); int8 scores differ, so they are cached apart
        version = model_version(files, chosen if kind == "fp32" else f"{chosen};onnx-int8")
        model = cls(meta, voters, version, dev, chosen, default_threads() if threads is None else threads)
        model.precision = kind
        return model

    def set_threads(self, threads: int) -> None:
        """Compute threads per session (1 in an indexing worker: the pool already uses every core)."""
        self.threads = int(threads)
        for voter in self._voters:
            voter.session = None

    def _norms(self) -> list[dict[str, Any]]:
        return [voter.norm for voter in self._voters]

    def _embedding_width(self) -> int:
        return 128

    def _input_widths(self) -> dict[str, int]:
        return self.config.widths

    def _pool(self, frames: int) -> np.ndarray:
        """Row 0 averages every column (the embedding, and the output when there are no crops); rows 1.. average
        the shared-trunk window of each test-time crop."""
        width = pooled_length(frames)
        rows = [np.full(width, 1.0 / width, dtype=np.float32)]
        crop = int(self.tta_frames or 0)
        if self.tta_crops > 1 and crop and crop < frames:
            for a, b in trunk_windows(frames, crop, tta_starts(frames, crop, self.tta_crops)):
                row = np.zeros(width, dtype=np.float32)
                row[a:b] = 1.0 / (b - a)
                rows.append(row)
        return np.stack(rows)

    # -- prediction -----------------------------------------------------------------------------------------
    def _run(self, groups: Sequence[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One sub-batch as each voter sees it: mean probabilities over voters and crops, first voter's embedding."""
        cfg = self.config
        n = len(next(iter(groups[0].values())))
        tags = np.zeros((n, cfg.n_tags), np.float64)
        quads = np.zeros((n, cfg.n_quadrants), np.float64)
        embedding = None
        votes = 0
        for voter, batch in zip(self._voters, groups):
            feeds = {b: np.ascontiguousarray(v, dtype=np.float32) for b, v in batch.items()}
            if "mel" in feeds:
                feeds["pool"] = self._pool(feeds["mel"].shape[-1])
            outs = dict(zip(self._output_names(), voter.run(feeds, self.device, self.threads)))
            k = outs["embedding"].shape[1]
            voting = slice(1, k) if k > 1 else slice(0, 1)
            if embedding is None:
                embedding = outs["embedding"][:, 0]
            if "tag_probs" in outs:
                tags += outs["tag_probs"][:, voting].sum(axis=1)
            if "quadrant_probs" in outs:
                quads += outs["quadrant_probs"][:, voting].sum(axis=1)
            votes += len(range(k)[voting])
        tags = tags / votes if "tags" in cfg.heads else np.full_like(tags, np.nan)
        quads = quads / votes if "quadrant" in cfg.heads else np.full_like(quads, np.nan)
        assert embedding is not None
        return tags.astype(np.float32), quads.astype(np.float32), embedding.astype(np.float32)

    def _output_names(self) -> list[str]:
        heads = self.config.heads
        return (
            (["tag_probs"] if "tags" in heads else [])
            + (["quadrant_probs"] if "quadrant" in heads else [])
            + ["embedding"]
        )
