"""Run a trained QuadFusionNet on extracted features: numpy in, numpy out, normalisation applied inside.

The app and the indexer only ever talk to `EmotionModel`, so the checkpoint's normalisation statistics and mel
length can never be forgotten or applied twice by callers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint
from core.model import ModelConfig, QuadFusionNet
from core.resources import resource_path


class InferenceError(ValueError):
    """Inputs do not fit the loaded model (missing branch input, wrong shape, N mismatch)."""


@dataclass
class Predictions:
    tag_scores: np.ndarray  # (N, n_tags) softmax over tags
    quadrant_probs: np.ndarray  # (N, 4) softmax over quadrants
    embeddings: np.ndarray  # (N, 128)


def default_model_dir() -> Path:
    return resource_path("models", "default")


def _file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fit_frames(mel: np.ndarray, frames: int) -> np.ndarray:
    """Centre-crop or zero-pad (after normalisation, so 0 = the training mean) a (48, T) mel to `frames`."""
    t = mel.shape[-1]
    if t == frames:
        return mel
    if t > frames:
        start = (t - frames) // 2
        return mel[..., start : start + frames]
    pad = np.zeros(mel.shape[:-1] + (frames - t,), dtype=mel.dtype)
    left = (frames - t) // 2
    return np.concatenate([pad[..., :left], mel, pad[..., left:]], axis=-1)


class EmotionModel:
    """A loaded checkpoint ready for prediction (eval mode, on GPU when available)."""

    def __init__(self, model: QuadFusionNet, meta: dict[str, Any], version: str, device: torch.device) -> None:
        self.model = model
        self.meta = meta
        self.version = version
        self.device = device
        self._norm = {
            branch: (np.asarray(entry["mean"], dtype=np.float32), np.asarray(entry["std"], dtype=np.float32))
            for branch, entry in meta["normalization"].items()
        }

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | torch.device | None = None, **checks: Any) -> EmotionModel:
        """Load `path` (default: the shipped model in resources/models/default); raises CheckpointError."""
        directory = Path(path) if path is not None else default_model_dir()
        if not (directory / CONFIG_FILE).is_file():
            where = "the shipped default model" if path is None else "the model"
            raise CheckpointError(f"{where} is not installed: no {CONFIG_FILE} in {directory}")
        dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model, meta = load_checkpoint(directory, map_location=dev, **checks)
        return cls(model, meta, _file_hash(directory / WEIGHTS_FILE, directory / CONFIG_FILE), dev)

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def branches(self) -> tuple[str, ...]:
        return self.config.branches

    @property
    def uses_muq(self) -> bool:
        return "muq" in self.config.branches

    @property
    def tags(self) -> list[str]:
        return list(self.meta["tags"])

    # -- input preparation ----------------------------------------------------------------------------------
    def _normalise(self, branch: str, x: np.ndarray) -> np.ndarray:
        if branch not in self._norm:
            return x
        mean, std = self._norm[branch]
        return ((x - mean) / std).astype(np.float32)

    def _prepare_mel(self, mel: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray] | np.ndarray:
        n_mels = self.config.n_mels
        items = list(mel) if not isinstance(mel, np.ndarray) or mel.ndim != 3 else None
        if items is None:
            assert isinstance(mel, np.ndarray)
            if mel.shape[1] != n_mels:
                raise InferenceError(f"mel must be (N, {n_mels}, T), got {mel.shape}")
            arr = self._normalise("mel", mel.astype(np.float32))
            return fit_frames(arr, self.config.mel_frames) if self.config.mel_frames else arr
        out = []
        for m in items:
            m = np.asarray(m, dtype=np.float32)
            if m.ndim != 2 or m.shape[0] != n_mels or m.shape[1] < 1:
                raise InferenceError(f"each mel must be ({n_mels}, T), got {m.shape}")
            m = self._normalise("mel", m)
            out.append(fit_frames(m, self.config.mel_frames) if self.config.mel_frames else m)
        if out and len({m.shape[1] for m in out}) == 1:
            return np.stack(out)
        return out  # ragged: predicted one clip at a time

    def _collect(self, **inputs: Any) -> tuple[int, dict[str, Any]]:
        widths = {"muq": self.config.muq_dim, "genre": self.config.n_genres, "lowlevel": self.config.n_lowlevel}
        ready: dict[str, Any] = {}
        for branch in self.branches:
            value = inputs.get(branch)
            if value is None:
                raise InferenceError(f"this model uses branches {self.branches}; {branch!r} input is missing")
            if branch == "mel":
                ready[branch] = self._prepare_mel(value)
                continue
            arr = np.asarray(value, dtype=np.float32)
            if arr.ndim != 2 or arr.shape[1] != widths[branch]:
                raise InferenceError(f"{branch} must be (N, {widths[branch]}), got {arr.shape}")
            ready[branch] = self._normalise(branch, arr)
        sizes = {b: len(v) for b, v in ready.items()}
        if len(set(sizes.values())) != 1:
            raise InferenceError(f"inputs disagree on N: {sizes}")
        return next(iter(sizes.values())), ready

    # -- prediction -----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _run(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tensors = {b: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for b, v in batch.items()}
        out = self.model(**tensors)
        n, n_tags = len(next(iter(batch.values()))), self.config.n_tags
        tags = torch.softmax(out["tag_logits"].float(), 1) if "tag_logits" in out else torch.full((n, n_tags), float("nan"))
        quads = (
            torch.softmax(out["quadrant_logits"].float(), 1)
            if "quadrant_logits" in out
            else torch.full((n, self.config.n_quadrants), float("nan"))
        )
        return tags.cpu().numpy(), quads.cpu().numpy(), out["embedding"].float().cpu().numpy()

    def predict(
        self,
        mel: np.ndarray | Sequence[np.ndarray] | None = None,
        lowlevel: np.ndarray | None = None,
        genre: np.ndarray | None = None,
        muq: np.ndarray | None = None,
        batch_size: int = 64,
        device: str | torch.device | None = None,
    ) -> Predictions:
        """Predict for N clips; inputs for branches the model does not use are ignored."""
        if device is not None and torch.device(device) != self.device:
            self.device = torch.device(device)
            self.model.to(self.device)
        self.model.eval()
        n, ready = self._collect(mel=mel, lowlevel=lowlevel, genre=genre, muq=muq)
        results: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        ragged = isinstance(ready.get("mel"), list)
        step = 1 if ragged else max(1, int(batch_size))
        for start in range(0, n, step):
            batch = {}
            for b, v in ready.items():
                if b == "mel" and ragged:
                    batch[b] = v[start][None]
                else:
                    batch[b] = v[start : start + step]
            results.append(self._run(batch))
        if not results:
            return Predictions(
                np.zeros((0, self.config.n_tags), np.float32),
                np.zeros((0, self.config.n_quadrants), np.float32),
                np.zeros((0, 128), np.float32),
            )
        tags, quads, emb = (np.concatenate(parts).astype(np.float32) for parts in zip(*results))
        return Predictions(tags, quads, emb)
