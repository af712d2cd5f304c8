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
    """Centre-crop a longer mel, or right-pad a shorter one with zeros, to `frames` frames.

    Zero padding is applied after normalisation (0 = the training mean) and on the right, exactly as
    core.train pads clips of unequal length, so predictions match the validation run.
    """
    t = mel.shape[-1]
    if t == frames:
        return mel
    if t > frames:
        start = (t - frames) // 2
        return mel[..., start : start + frames]
    pad = np.zeros(mel.shape[:-1] + (frames - t,), dtype=mel.dtype)
    return np.concatenate([mel, pad], axis=-1)


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
        x = np.asarray(x, dtype=np.float32)
        if branch not in self._norm:
            return x
        mean, std = self._norm[branch]
        return (x - mean) / std

    def _validate(self, **inputs: Any) -> tuple[int, dict[str, Any]]:
        """Check shapes up front (before any work) and return N and the raw per-branch inputs."""
        cfg = self.config
        widths = {"muq": cfg.muq_dim, "genre": cfg.n_genres, "lowlevel": cfg.n_lowlevel}
        raw: dict[str, Any] = {}
        for branch in self.branches:
            value = inputs.get(branch)
            if value is None:
                raise InferenceError(f"this model uses branches {self.branches}; {branch!r} input is missing")
            if branch == "mel":
                mels = value if isinstance(value, np.ndarray) and value.ndim == 3 else [np.asarray(m) for m in value]
                for m in mels:
                    if m.ndim != 2 or m.shape[0] != cfg.n_mels or m.shape[1] < 1:
                        raise InferenceError(f"each mel must be ({cfg.n_mels}, T) with T >= 1, got {m.shape}")
                raw[branch] = mels
                continue
            arr = np.asarray(value)
            if arr.ndim != 2 or arr.shape[1] != widths[branch]:
                raise InferenceError(f"{branch} must be (N, {widths[branch]}), got {arr.shape}")
            raw[branch] = arr
        sizes = {b: len(v) for b, v in raw.items()}
        if len(set(sizes.values())) != 1:
            raise InferenceError(f"inputs disagree on N: {sizes}")
        return next(iter(sizes.values())), raw

    def _batch(self, raw: dict[str, Any], start: int, stop: int) -> list[dict[str, np.ndarray]]:
        """Normalised model inputs for rows start..stop; one sub-batch per clip when mel lengths differ."""
        batch = {b: self._normalise(b, v[start:stop]) for b, v in raw.items() if b != "mel"}
        if "mel" not in raw:
            return [batch]
        frames = self.config.mel_frames
        mels = [self._normalise("mel", m) for m in raw["mel"][start:stop]]
        if frames:
            mels = [fit_frames(m, frames) for m in mels]
        if len({m.shape[1] for m in mels}) == 1:
            return [{**batch, "mel": np.stack(mels)}]
        return [{**{b: v[i : i + 1] for b, v in batch.items()}, "mel": m[None]} for i, m in enumerate(mels)]

    # -- prediction -----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _run(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tensors = {b: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for b, v in batch.items()}
        out = self.model(**tensors)
        n = len(next(iter(batch.values())))
        nan = float("nan")
        tags = torch.softmax(out["tag_logits"].float(), 1) if "tag_logits" in out else torch.full((n, self.config.n_tags), nan)
        quads = (
            torch.softmax(out["quadrant_logits"].float(), 1)
            if "quadrant_logits" in out
            else torch.full((n, self.config.n_quadrants), nan)
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
        """Predict for N clips; mel is (N, 48, T) or a list of (48, T_i). Inputs of unused branches are ignored.

        Normalisation happens per batch, so a large library never needs a second full-size float32 copy.
        """
        if device is not None and torch.device(device) != self.device:
            self.device = torch.device(device)
            self.model.to(self.device)
        self.model.eval()
        n, raw = self._validate(mel=mel, lowlevel=lowlevel, genre=genre, muq=muq)
        step = max(1, int(batch_size))
        results = [self._run(b) for start in range(0, n, step) for b in self._batch(raw, start, min(n, start + step))]
        if not results:
            return Predictions(
                np.zeros((0, self.config.n_tags), np.float32),
                np.zeros((0, self.config.n_quadrants), np.float32),
                np.zeros((0, self.model.fusion1[0].out_features), np.float32),
            )
        tags, quads, emb = (np.concatenate(parts).astype(np.float32) for parts in zip(*results))
        return Predictions(tags, quads, emb)
