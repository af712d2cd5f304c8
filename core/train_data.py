"""Training-time data preparation: normalisation statistics from the training clips and the normalised tensors of
one clip set on the training device (random crops, SpecAugment, genre-source mixing). Split from core.train so
each module has one job; core.train re-exports both names.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from core.datasets import FeatureArrays


def compute_normalization(
    arrays: FeatureArrays,
    branches: tuple[str, ...],
    *,
    mel_norm: str = "global",
    lowlevel_clip: float | None = None,
    pretrained: str = "muq",
) -> dict[str, dict[str, Any]]:
    """Mean/std from the training clips only (mel over the real frames: one global pair, or one pair per band).

    `lowlevel_clip` is stored as the entry's "clip" and applied after standardisation (train and inference).
    """
    norm: dict[str, dict[str, Any]] = {}
    if "mel" in branches:
        assert arrays.mel is not None and arrays.mel_lengths is not None
        total = np.zeros(arrays.mel.shape[1])
        total_sq = np.zeros(arrays.mel.shape[1])
        count = 0
        for m, n in zip(arrays.mel, arrays.mel_lengths):
            part = m[:, : int(n)].astype(np.float64)
            total += part.sum(axis=1)
            total_sq += (part**2).sum(axis=1)
            count += part.shape[1]
        if mel_norm == "band":
            mean = total / count
            std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-12))
            norm["mel"] = {"mean": mean.tolist(), "std": std.tolist()}
        else:
            n_all = count * arrays.mel.shape[1]
            mean = float(total.sum() / n_all)
            std = math.sqrt(max(float(total_sq.sum()) / n_all - mean**2, 1e-12))
            norm["mel"] = {"mean": mean, "std": std}
    for name in ("lowlevel", "muq"):
        if name in branches:
            x = arrays.pretrained(pretrained) if name == "muq" else arrays.lowlevel
            if x is None:
                raise ValueError(
                    f"branch {name!r} requested but the arrays have no {pretrained if name == 'muq' else name} features"
                )
            norm[name] = {
                "mean": x.mean(axis=0).astype(np.float64).tolist(),
                "std": np.maximum(x.std(axis=0), 1e-6).astype(np.float64).tolist(),
            }
    if lowlevel_clip is not None and "lowlevel" in norm:
        norm["lowlevel"]["clip"] = float(lowlevel_clip)
    return norm


def _mel_stats(entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Mean/std shaped to broadcast over (..., 48, T): scalars or per-band lists."""
    mean = np.asarray(entry["mean"], np.float32)
    std = np.asarray(entry["std"], np.float32)
    return (mean[:, None], std[:, None]) if mean.ndim == 1 else (mean, std)


class DeviceData:
    """Normalised tensors of one clip set on the training device (mel padding set to 0 = the training mean)."""

    def __init__(
        self,
        arrays: FeatureArrays,
        norm: dict[str, dict[str, Any]],
        branches: tuple[str, ...],
        device: torch.device,
        pretrained: str = "muq",
        genre_source: str = "metadata",
        genre_mix: float = 0.5,
    ) -> None:
        self.n = len(arrays)
        self.inputs: dict[str, torch.Tensor] = {}
        self.lengths = None
        self.genre_alt: torch.Tensor | None = None  # inferred genres, mixed in per clip ("mix") while training
        self.genre_mix = genre_mix
        if "genre" in branches and genre_source != "metadata":
            arrays_audio = arrays.with_genres("audio")
            if genre_source == "audio":
                arrays = arrays_audio
            else:
                self.genre_alt = torch.from_numpy(arrays_audio.genre.astype(np.float32)).to(device)
        if "mel" in branches:
            assert arrays.mel is not None and arrays.mel_lengths is not None
            mean, std = _mel_stats(norm["mel"])
            mel = (arrays.mel - mean) / std
            frames = np.arange(mel.shape[2])[None, None, :]
            mel = np.where(frames < arrays.mel_lengths[:, None, None], mel, 0.0).astype(np.float32)
            self.inputs["mel"] = torch.from_numpy(mel).to(device)
            self.lengths = torch.from_numpy(arrays.mel_lengths.astype(np.int64)).to(device)
        for name in ("lowlevel", "muq"):
            if name in branches:
                x = arrays.pretrained(pretrained) if name == "muq" else arrays.lowlevel
                assert x is not None
                x = (x - np.asarray(norm[name]["mean"], np.float32)) / np.asarray(norm[name]["std"], np.float32)
                if norm[name].get("clip"):
                    x = np.clip(x, -norm[name]["clip"], norm[name]["clip"])
                self.inputs[name] = torch.from_numpy(x.astype(np.float32)).to(device)
        if "genre" in branches:
            self.inputs["genre"] = torch.from_numpy(arrays.genre.astype(np.float32)).to(device)
        self.relevance = torch.from_numpy(arrays.relevance.astype(np.float32)).to(device)
        self.quadrant = torch.from_numpy(arrays.quadrant.astype(np.int64)).to(device)

    def batch(
        self,
        idx: torch.Tensor,
        crop: int | None = None,
        generator: torch.Generator | None = None,
        spec_augment: bool = False,
        mix_genres: bool = False,
    ) -> dict[str, torch.Tensor]:
        out = {k: v[idx] for k, v in self.inputs.items()}
        if mix_genres and self.genre_alt is not None:
            pick = torch.rand(len(idx), device=idx.device, generator=generator) < self.genre_mix
            out["genre"] = torch.where(pick[:, None], self.genre_alt[idx], out["genre"])
        if crop is not None and "mel" in out and out["mel"].shape[2] > crop:
            assert self.lengths is not None
            room = (self.lengths[idx] - crop).clamp_min(0)
            rand = torch.rand(len(idx), device=room.device, generator=generator)
            start = (rand * (room + 1).float()).long().clamp_max(out["mel"].shape[2] - crop)
            cols = start[:, None] + torch.arange(crop, device=room.device)[None, :]
            out["mel"] = out["mel"].gather(2, cols[:, None, :].expand(-1, out["mel"].shape[1], -1))
        if spec_augment and "mel" in out:
            out["mel"] = _spec_augment(out["mel"], generator)
        return out


def _mask_1d(batch: int, size: int, max_width: int, device, generator) -> torch.Tensor:
    """(batch, size) bool: one random span per row of width 0..max_width."""
    width = (torch.rand(batch, device=device, generator=generator) * (max_width + 1)).long()
    start = (torch.rand(batch, device=device, generator=generator) * (size - width + 1).float()).long()
    pos = torch.arange(size, device=device)[None, :]
    return (pos >= start[:, None]) & (pos < (start + width)[:, None])


def _spec_augment(mel: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """SpecAugment-style masking to 0 (= the training mean after normalisation)."""
    b, f, t = mel.shape
    band = _mask_1d(b, f, 8, mel.device, generator)
    time_mask = _mask_1d(b, t, t // 10, mel.device, generator) | _mask_1d(b, t, t // 10, mel.device, generator)
    return mel.masked_fill(band[:, :, None] | time_mask[:, None, :], 0.0)
