"""Run a trained QuadFusionNet on extracted features: numpy in, numpy out, normalisation applied inside.

The app and the indexer only ever talk to `EmotionModel`, so the checkpoint's normalisation statistics and mel
length can never be forgotten or applied twice by callers.

A checkpoint whose config.json has an "inference" block is an ensemble (core/checkpoint.py): tag scores and
quadrant probabilities are the mean softmax of the folder's own model and every member (each with its own
normalisation), optionally over evenly spaced mel crops (test-time augmentation). Embeddings always come from the
folder's own model on the whole mel: members trained from different initialisations live in unrelated 128-d
spaces, so averaging them would be meaningless, and the map needs one consistent space.

Test-time crops share one trunk pass: the mel CNN is convolutional up to its global average pool, so each voter
runs it once on the whole mel and each crop's output is the mean of the matching window of the final feature map
(`trunk_windows`); only the receptive field's edges differ from running the crop itself (docs/training.md,
"CPU inference"). Inference profiles (`PROFILES`) trade the ensemble for speed: "full" = every member with crops
(the default on CUDA), "fast" = the folder's own model alone with crops, about the cost of one pass (the default on
the CPU, where most desktop users are). The profile is part of `.version`, since the scores differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint

# The numpy parts live in core.inference_base so the ONNX runtime shares them without torch; re-exported here.
from core.inference_base import (  # noqa: F401
    PROFILE_ENV,
    PROFILES,
    InferenceError,
    ModelBase,
    Predictions,
    default_model_dir,
    fit_frames,
    model_version,
    norm_table,
    pooled_length,
    resolve_profile,
    trunk_windows,
    tta_starts,
)
from core.model import ModelConfig, QuadFusionNet
from core.stacking import HEAD_NAMES


def _same_interface(a: ModelConfig, b: ModelConfig) -> bool:
    keys = (
        "branches",
        "heads",
        "n_genres",
        "n_lowlevel",
        "muq_dim",
        "n_mels",
        "n_tags",
        "n_quadrants",
        "mel_frames",
        "pretrained",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)


class EmotionModel(ModelBase):
    """A loaded checkpoint (one model or an ensemble) ready for prediction (eval mode, on GPU when available)."""

    def __init__(
        self,
        model: QuadFusionNet,
        meta: dict[str, Any],
        version: str,
        device: torch.device,
        members: Sequence[tuple[QuadFusionNet, dict[str, Any]]] = (),
        profile: str = "full",
    ) -> None:
        self.model = model
        self.meta = meta
        self.version = version
        self.device = device
        self.profile = profile
        # (model, normalisation) of every voter; the folder's own model first (it alone gives embeddings)
        self._voters = [(model, norm_table(meta["normalization"]))]
        self._voters += [(m, norm_table(member_meta["normalization"])) for m, member_meta in members]
        spec = meta.get("inference") or {}
        self.tta_crops = int(spec.get("tta_crops") or 1)
        self.tta_frames = spec.get("tta_frames")
        # False runs every crop through the whole network (the reference the shared trunk is checked against)
        self.shared_trunk = "mel" in model.config.branches
        # probe mix / arousal adjustment after the vote (core.stacking)
        self._heads = {k: spec[k] for k in HEAD_NAMES if spec.get(k)}
        self._set_layout()

    def _set_layout(self) -> None:
        """CPU fast path: with channels-last weights oneDNN runs the mel CNN's convolutions and max-pooling
        vectorised over channels: the same outputs (max abs diff < 1e-6) about 2x faster on a Xeon core
        (docs/benchmarks.md, Indexing). CUDA keeps the default layout."""
        fmt = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        for model, _ in self._voters:
            model.to(memory_format=fmt)

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        device: str | torch.device | None = None,
        profile: str | None = None,
        **checks: Any,
    ) -> EmotionModel:
        """Load `path` (default: the shipped model in resources/models/default); raises CheckpointError.

        `profile` ("full" or "fast", see PROFILES) defaults to $QFX_INFERENCE_PROFILE, else "full" on CUDA and
        "fast" on the CPU; an unknown name raises InferenceError. "fast" loads no ensemble members when the model
        has a mel branch (they are what costs); members without one cost microseconds and always vote.
        """
        directory = Path(path) if path is not None else default_model_dir()
        if not (directory / CONFIG_FILE).is_file():
            where = "the shipped default model" if path is None else "the model"
            raise CheckpointError(f"{where} is not installed: no {CONFIG_FILE} in {directory}")
        dev = (
            torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        chosen = resolve_profile(profile, dev)
        model, meta = load_checkpoint(directory, map_location=dev, **checks)
        files = [directory / WEIGHTS_FILE, directory / CONFIG_FILE]
        members = []
        cheap = "mel" not in model.config.branches
        for name in (meta.get("inference") or {}).get("members", []) if chosen == "full" or cheap else []:
            member_dir = directory / name
            member, member_meta = load_checkpoint(member_dir, map_location=dev, **checks)
            if not _same_interface(member.config, model.config) or member_meta["tags"] != meta["tags"]:
                raise CheckpointError(f"ensemble member {name} has other inputs or outputs than {directory}")
            members.append((member, member_meta))
            files += [member_dir / WEIGHTS_FILE, member_dir / CONFIG_FILE]
        version = model_version(files, chosen)
        return cls(model, meta, version, dev, members, profile=chosen)

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    def _norms(self) -> list[dict[str, Any]]:
        return [norm for _, norm in self._voters]

    def _embedding_width(self) -> int:
        return self.model.fusion1[0].out_features

    def _input_widths(self) -> dict[str, int]:
        cfg = self.config
        return {"muq": cfg.muq_dim, "genre": cfg.n_genres, "lowlevel": cfg.n_lowlevel}

    # -- prediction -----------------------------------------------------------------------------------------
    def _crop_starts(self, frames: int) -> list[int] | None:
        """Start frames of the test-time crops, or None when TTA is off or the mel is no longer than a crop."""
        if self.tta_crops <= 1 or not self.tta_frames or "mel" not in self.branches or int(self.tta_frames) >= frames:
            return None
        return tta_starts(frames, int(self.tta_frames), self.tta_crops)

    def _voter_outputs(
        self, model: QuadFusionNet, tensors: dict[str, torch.Tensor], want_embedding: bool
    ) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor | None]:
        """One voter's outputs (one per crop, or one for the whole input) and, if asked, its whole-mel embedding."""
        starts = self._crop_starts(int(tensors["mel"].shape[-1])) if "mel" in tensors else None
        if starts is None:
            out = model(**tensors)
            return [out], out["embedding"] if want_embedding else None
        rest = {b: v for b, v in tensors.items() if b != "mel"}
        crop = int(self.tta_frames)
        if not self.shared_trunk:
            outs = [model(**{**tensors, "mel": tensors["mel"][..., s : s + crop]}) for s in starts]
            return outs, model.embed(**tensors) if want_embedding else None
        fmap = model.mel_feature_map(tensors["mel"])
        windows = trunk_windows(int(tensors["mel"].shape[-1]), crop, starts)
        outs = [model.forward_pooled(fmap[..., a:b].mean(dim=(2, 3)), **rest) for a, b in windows]
        embedding = model.forward_pooled(fmap.mean(dim=(2, 3)), **rest)["embedding"] if want_embedding else None
        return outs, embedding

    @torch.inference_mode()
    def _run(self, batches: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One sub-batch normalised per voter: mean softmax over voters (and crops), embedding of the first voter."""
        n = len(next(iter(batches[0].values())))
        tags = torch.zeros((n, self.config.n_tags))
        quads = torch.zeros((n, self.config.n_quadrants))
        embedding = None
        votes = 0
        for (model, _), batch in zip(self._voters, batches):
            tensors = {b: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for b, v in batch.items()}
            outs, emb = self._voter_outputs(model, tensors, want_embedding=embedding is None)
            if embedding is None:
                assert emb is not None
                embedding = emb.float().cpu()
            for out in outs:
                if "tag_logits" in out:
                    tags += torch.softmax(out["tag_logits"].float(), 1).cpu()
                if "quadrant_logits" in out:
                    quads += torch.softmax(out["quadrant_logits"].float(), 1).cpu()
                votes += 1
        nan = float("nan")
        tags = tags / votes if "tags" in self.config.heads else torch.full_like(tags, nan)
        quads = quads / votes if "quadrant" in self.config.heads else torch.full_like(quads, nan)
        assert embedding is not None
        return tags.numpy(), quads.numpy(), embedding.numpy()

    def _prepare(self, device: str | torch.device | None) -> None:
        if device is not None and torch.device(device) != self.device:
            self.device = torch.device(device)
            for model, _ in self._voters:
                model.to(self.device)
            self._set_layout()
        for model, _ in self._voters:
            model.eval()
