"""What every emotion-model runtime shares, with numpy only: outputs, profiles, normalisation, mel fitting and the
shared-trunk crop geometry.

`core.inference` (torch) and `core.onnx_runtime` (ONNX Runtime) both build on these, so the two runtimes cannot
drift apart on how a mel is padded, where test-time crops sit or which profile a device gets; a torch-free
install imports this module and never `core.inference`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.resources import resource_path
from core.stacking import StackingError, apply_heads, apply_tag_heads


class InferenceError(ValueError):
    """Inputs do not fit the loaded model (missing branch input, wrong shape, N mismatch) or an unknown profile."""


PROFILES = ("full", "fast")
PROFILE_ENV = "QFX_INFERENCE_PROFILE"
# Part of every version: bump when the computation of crops changes, so cached predictions are redone.
CROP_METHOD = "shared-trunk-1"


def resolve_profile(profile: str | None, device: Any) -> str:
    """The argument, else $QFX_INFERENCE_PROFILE, else "full" on CUDA and "fast" elsewhere.

    `device` is anything with a `.type` ("cuda", "cpu") or such a name as a string."""
    source = "profile"
    if profile is None:
        profile = os.environ.get(PROFILE_ENV) or None
        source = PROFILE_ENV
    if profile is None:
        kind = getattr(device, "type", device)
        return "full" if str(kind).startswith("cuda") else "fast"
    name = str(profile).strip().lower()
    if name not in PROFILES:
        raise InferenceError(f"unknown inference {source} {profile!r}; choose one of {', '.join(PROFILES)}")
    return name


@dataclass
class Predictions:
    tag_scores: np.ndarray  # (N, n_tags) softmax over tags
    quadrant_probs: np.ndarray  # (N, 4) softmax over quadrants
    embeddings: np.ndarray  # (N, 128)


def default_model_dir() -> Path:
    return resource_path("models", "default")


def file_hash(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    digest.update(extra.encode("utf-8"))
    return digest.hexdigest()[:16]


def model_version(files: Sequence[Path], profile: str) -> str:
    """A model's cache version: its checkpoint files (weights + config of every voter used) and the profile.

    Both runtimes compute it from the same checkpoint files, so switching between torch and ONNX Runtime keeps
    cached predictions (their outputs agree within 1e-4, tests/test_onnx_runtime.py)."""
    return file_hash(*files, extra=f"profile={profile};crops={CROP_METHOD}")


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


def norm_table(normalization: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray, float | None]]:
    """branch -> (mean, std, clip); per-band mel statistics are shaped (48, 1) to broadcast over frames."""
    table = {}
    for branch, entry in normalization.items():
        mean = np.asarray(entry["mean"], dtype=np.float32)
        std = np.asarray(entry["std"], dtype=np.float32)
        if branch == "mel" and mean.ndim == 1:
            mean, std = mean[:, None], std[:, None]
        table[branch] = (mean, std, entry.get("clip"))
    return table


def normalise(x: np.ndarray, entry: tuple[np.ndarray, np.ndarray, float | None] | None) -> np.ndarray:
    """(x - mean) / std, clipped to +-clip when the checkpoint asks; unchanged when the branch has no entry."""
    x = np.asarray(x, dtype=np.float32)
    if entry is None:
        return x
    mean, std, clip = entry
    x = (x - mean) / std
    return np.clip(x, -clip, clip) if clip else x


def tta_starts(frames: int, crop: int, n_crops: int) -> list[int]:
    """Start frames of `n_crops` evenly spaced `crop`-frame windows over `frames` frames (first and last included)."""
    if n_crops < 1 or crop >= frames:
        return [0]
    if n_crops == 1:
        return [(frames - crop) // 2]
    return [round(i * (frames - crop) / (n_crops - 1)) for i in range(n_crops)]


def pooled_length(frames: int, n_pools: int = 3) -> int:
    """Frames left after `n_pools` MaxPool2d(2, ceil_mode=True) layers, as the mel CNN computes them."""
    for _ in range(n_pools):
        frames = math.ceil(frames / 2)
    return frames


def trunk_windows(frames: int, crop: int, starts: Sequence[int], n_pools: int = 3) -> list[tuple[int, int]]:
    """Columns [a, b) of the whole mel's final feature map that stand in for each crop's own map.

    Each window is exactly as wide as the crop's own pooled map (ceil at every pooling, like the model) and starts
    at the crop's start divided by 2**n_pools, rounded, kept inside the map.
    """
    total = pooled_length(frames, n_pools)
    width = min(pooled_length(crop, n_pools), total)
    out = []
    for s in starts:
        a = min(max(0, round(s / 2**n_pools)), total - width)
        out.append((a, a + width))
    return out


class ModelBase:
    """What `EmotionModel` (torch) and `OnnxEmotionModel` share: the interface properties, input checks, per-voter
    batches and the ensemble's prediction loop. A subclass sets `config` (core.model.ModelConfig or
    core.onnx_checkpoint.ModelInterface), `meta`, `_voters` and `_heads`, and gives `_norms`, `_embedding_width`,
    `_input_widths` and `_run` (one sub-batch as each voter sees it -> tags, quadrants, embedding)."""

    config: Any
    meta: dict[str, Any]
    _voters: list[Any]
    _heads: dict[str, Any]

    def _norms(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _embedding_width(self) -> int:
        raise NotImplementedError

    def _input_widths(self) -> dict[str, int]:
        raise NotImplementedError

    def _run(self, groups: Sequence[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def n_members(self) -> int:
        """How many models vote (1 for a plain checkpoint)."""
        return len(self._voters)

    @property
    def branches(self) -> tuple[str, ...]:
        return self.config.branches

    @property
    def pretrained_kind(self) -> str | None:
        """Which pretrained embedding the indexer must compute for this model: "muq", "musicnn" or None."""
        return self.config.pretrained_kind

    @property
    def uses_muq(self) -> bool:
        return self.pretrained_kind == "muq"

    @property
    def uses_musicnn(self) -> bool:
        return self.pretrained_kind == "musicnn"

    @property
    def needs_interpretive(self) -> bool:
        """True when predictions need the interpretive descriptors (the checkpoint has an arousal adjustment)."""
        return "arousal" in self._heads

    @property
    def tags(self) -> list[str]:
        return list(self.meta["tags"])

    def _validate(self, inputs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Check shapes up front (before any work) and return N and the raw per-branch inputs."""
        cfg = self.config
        widths = self._input_widths()
        raw: dict[str, Any] = {}
        for branch in self.branches:
            value = inputs.get(branch)
            if value is None:
                name = self.pretrained_kind if branch == "muq" else branch
                raise InferenceError(f"this model uses branches {self.branches}; {name!r} input is missing")
            if branch == "mel":
                mels = value if isinstance(value, np.ndarray) and value.ndim == 3 else [np.asarray(m) for m in value]
                for m in mels:
                    if m.ndim != 2 or m.shape[0] != cfg.n_mels or m.shape[1] < 1:
                        raise InferenceError(f"each mel must be ({cfg.n_mels}, T) with T >= 1, got {m.shape}")
                raw[branch] = mels
                continue
            arr = np.asarray(value)
            if arr.ndim != 2 or arr.shape[1] != widths[branch]:
                name = self.pretrained_kind if branch == "muq" else branch
                raise InferenceError(f"{name} must be (N, {widths[branch]}), got {arr.shape}")
            raw[branch] = arr
        sizes = {b: len(v) for b, v in raw.items()}
        if len(set(sizes.values())) != 1:
            raise InferenceError(f"inputs disagree on N: {sizes}")
        return next(iter(sizes.values())), raw

    def _batches(self, raw: dict[str, Any], start: int, stop: int, norm: dict[str, Any]) -> list[dict[str, np.ndarray]]:
        """Normalised inputs for rows start..stop; one sub-batch per clip when (fitted) mel lengths differ."""
        batch = {b: normalise(v[start:stop], norm.get(b)) for b, v in raw.items() if b != "mel"}
        if "mel" not in raw:
            return [batch]
        mels = [normalise(m, norm.get("mel")) for m in raw["mel"][start:stop]]
        if self.config.mel_frames:
            mels = [fit_frames(m, self.config.mel_frames) for m in mels]
        if len({m.shape[1] for m in mels}) == 1:
            return [{**batch, "mel": np.stack(mels)}]
        return [{**{b: v[i : i + 1] for b, v in batch.items()}, "mel": m[None]} for i, m in enumerate(mels)]

    def predict(
        self,
        mel: np.ndarray | Sequence[np.ndarray] | None = None,
        lowlevel: np.ndarray | None = None,
        genre: np.ndarray | None = None,
        muq: np.ndarray | None = None,
        batch_size: int = 64,
        device: Any = None,
        musicnn: np.ndarray | None = None,
        interpretive: np.ndarray | None = None,
    ) -> Predictions:
        """Predict for N clips; mel is (N, 48, T) or a list of (48, T_i). Inputs of unused branches are ignored.

        The pretrained branch takes `muq` (N, 1024) or `musicnn` (N, 250), whichever `pretrained_kind` names.
        `interpretive` (N, D) is needed only by a checkpoint with an arousal adjustment (`needs_interpretive`).
        Normalisation happens per batch, so a large library never needs a second full-size float32 copy.
        `device` moves a runtime that has devices (torch) before predicting; others ignore it.
        """
        self._prepare(device)
        inputs = {"mel": mel, "lowlevel": lowlevel, "genre": genre, "muq": muq, "musicnn": musicnn}
        return self._predict(inputs, batch_size, interpretive)

    def _prepare(self, device: Any) -> None:
        """Runtime hook before a prediction (the torch model moves to `device` and switches to eval)."""

    def _predict(self, inputs: dict[str, Any], batch_size: int, interpretive: np.ndarray | None) -> Predictions:
        """Validate, then vote batch by batch, then the probe mix / arousal adjustment (core.stacking)."""
        if self.uses_musicnn:
            inputs = {**inputs, "muq": inputs.get("musicnn")}
        n, raw = self._validate(inputs)
        step = max(1, int(batch_size))
        results = []
        for start in range(0, n, step):
            per_voter = [self._batches(raw, start, min(n, start + step), norm) for norm in self._norms()]
            results += [self._run(list(group)) for group in zip(*per_voter)]
        if not results:
            return Predictions(
                np.zeros((0, self.config.n_tags), np.float32),
                np.zeros((0, self.config.n_quadrants), np.float32),
                np.zeros((0, self._embedding_width()), np.float32),
            )
        tags, quads, emb = (np.concatenate(parts).astype(np.float32) for parts in zip(*results))
        if self._heads:
            try:
                quads = apply_heads(quads, self._heads, raw.get("muq"), interpretive).astype(np.float32)
                tags = apply_tag_heads(tags, self._heads, raw.get("muq"), raw.get("lowlevel"))
            except StackingError as exc:
                raise InferenceError(str(exc)) from exc
        return Predictions(tags, quads, emb)
