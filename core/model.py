"""QuadFusionNet: four feature branches fused into a shared 128-d emotion embedding with two heads.

Layer widths follow the paper exactly (see docs/model.md):

* mel branch: 3 x [Conv3x3 - BatchNorm - ReLU - MaxPool2 - Dropout(0.25)], channels 1->64->128->256,
  then global average pooling -> 256
* pretrained-embedding branch (named "muq" in configs and weights for compatibility): Linear D->128 + ReLU, where
  D is the embedding's width: MuQ (1024, the paper's; CC-BY-NC weights the user supplies) or MusiCNN-MSD (200-d
  penultimate layer + 50 MSD tag activations = 250, ISC weights shipped with the app); `ModelConfig.pretrained`
  records which, so the indexer knows which extractor to run
* genre branch: Linear n_genres->32 + ReLU
* low-level branch: Linear 8->8 + ReLU
* every branch output goes through Dropout(0.5) ("branch dropout") before concatenation
* fusion: Linear(sum of active widths -> 128) - BN - ReLU - Dropout(0.4)
          Linear(128 -> 64) - BN - ReLU - Dropout(0.3)
* heads from the 64-d layer: tag logits (12) and quadrant logits (4)

Any subset of branches can be switched off (ablations V1 = no mel, V2 = no MuQ, V3 = no genre): the fusion input
width is then the sum of the active branch widths (424 with all four, 168 without MuQ, ...), so every variant is
the same class with a different `ModelConfig`.

The embedding is the output of the first fusion block AFTER BatchNorm and ReLU and BEFORE its dropout: it is
non-negative, identical in train/eval apart from BN statistics, and is what the explorer projects and clusters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

BRANCHES: tuple[str, ...] = ("mel", "muq", "genre", "lowlevel")
HEADS: tuple[str, ...] = ("tags", "quadrant")
EMBED_DIM = 128
HIDDEN_DIM = 64
MEL_CHANNELS = (64, 128, 256)
MUQ_OUT = 128
GENRE_OUT = 32
LOWLEVEL_OUT = 8
# Pretrained embeddings the fourth branch can take, with their default widths (MusiCNN: 200-d penultimate + 50 tags).
PRETRAINED_DIMS: dict[str, int] = {"muq": 1024, "musicnn": 250}


def _default_n_genres() -> int:
    """The running code's genre vocabulary size."""
    from core.features.genre import GENRES

    return len(GENRES)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a QuadFusionNet; stored in a checkpoint's config.json."""

    branches: tuple[str, ...] = BRANCHES
    n_genres: int | None = None  # None -> len(core.features.genre.GENRES)
    n_lowlevel: int = 8
    muq_dim: int | None = None  # width of the pretrained embedding; None -> PRETRAINED_DIMS[pretrained]
    n_mels: int = 48
    n_tags: int = 12
    n_quadrants: int = 4
    heads: tuple[str, ...] = HEADS
    # Fixed number of mel frames the model was trained on; inference pads/crops to it. None = any length.
    mel_frames: int | None = None
    branch_dropout: float = 0.5
    # Which pretrained embedding feeds the "muq" branch; configs written before this field existed mean MuQ.
    pretrained: str = "muq"

    def __post_init__(self) -> None:
        branches = tuple(self.branches)
        heads = tuple(self.heads)
        if not branches:
            raise ValueError("ModelConfig needs at least one branch")
        unknown = [b for b in branches if b not in BRANCHES]
        if unknown or len(set(branches)) != len(branches):
            raise ValueError(f"branches must be distinct names from {BRANCHES}, got {branches}")
        # Canonical order so that ("genre", "mel") and ("mel", "genre") build identical layers.
        object.__setattr__(self, "branches", tuple(b for b in BRANCHES if b in branches))
        if not heads or any(h not in HEADS for h in heads) or len(set(heads)) != len(heads):
            raise ValueError(f"heads must be a non-empty subset of {HEADS}, got {heads}")
        object.__setattr__(self, "heads", tuple(h for h in HEADS if h in heads))
        if self.n_genres is None:
            object.__setattr__(self, "n_genres", _default_n_genres())
        if self.pretrained not in PRETRAINED_DIMS:
            raise ValueError(f"pretrained must be one of {sorted(PRETRAINED_DIMS)}, got {self.pretrained!r}")
        if self.muq_dim is None:
            object.__setattr__(self, "muq_dim", PRETRAINED_DIMS[self.pretrained])
        for name in ("n_genres", "n_lowlevel", "muq_dim", "n_mels", "n_tags", "n_quadrants"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"ModelConfig.{name} must be a positive int, got {value!r}")
        if self.mel_frames is not None and (not isinstance(self.mel_frames, int) or self.mel_frames <= 0):
            raise ValueError(f"ModelConfig.mel_frames must be a positive int or None, got {self.mel_frames!r}")
        if not 0.0 <= self.branch_dropout < 1.0:
            raise ValueError(f"branch_dropout must be in [0, 1), got {self.branch_dropout}")

    @property
    def branch_widths(self) -> dict[str, int]:
        """Output width of each active branch, in concatenation order."""
        widths = {"mel": MEL_CHANNELS[-1], "muq": MUQ_OUT, "genre": GENRE_OUT, "lowlevel": LOWLEVEL_OUT}
        return {b: widths[b] for b in self.branches}

    @property
    def pretrained_kind(self) -> str | None:
        """The pretrained embedding this model needs ("muq" or "musicnn"), or None without that branch."""
        return self.pretrained if "muq" in self.branches else None

    @property
    def fusion_width(self) -> int:
        return sum(self.branch_widths.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["branches"] = list(self.branches)
        data["heads"] = list(self.heads)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from `to_dict()` output; unknown keys are an error so a newer file is not silently misread."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {unknown}")
        kwargs = dict(data)
        for key in ("branches", "heads"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class MelCNN(nn.Module):
    """Three conv blocks over the (48 x T) mel image, then global average pooling to 256 values.

    ceil_mode pooling keeps every T >= 1 valid (very short inputs just pool to 1 frame).
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 1
        for out_ch in MEL_CHANNELS:
            layers += [
                nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, ceil_mode=True),
                nn.Dropout(0.25),
            ]
            in_ch = out_ch
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(mel)).flatten(1)

    def feature_map(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 256, ceil^3(48/2), ceil^3(T/2)) map before the global pool: the part that is convolutional in time,
        so windows of one whole-clip map stand in for the maps of crops (core.inference, shared-trunk crops)."""
        return self.blocks(mel)


class QuadFusionNet(nn.Module):
    """The paper's multi-branch network; `forward` returns embedding, tag logits and quadrant logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.branch_modules = nn.ModuleDict()
        if "mel" in config.branches:
            self.branch_modules["mel"] = MelCNN()
        if "muq" in config.branches:
            self.branch_modules["muq"] = nn.Sequential(nn.Linear(config.muq_dim, MUQ_OUT), nn.ReLU(inplace=True))
        if "genre" in config.branches:
            self.branch_modules["genre"] = nn.Sequential(nn.Linear(config.n_genres, GENRE_OUT), nn.ReLU(inplace=True))
        if "lowlevel" in config.branches:
            self.branch_modules["lowlevel"] = nn.Sequential(
                nn.Linear(config.n_lowlevel, LOWLEVEL_OUT), nn.ReLU(inplace=True)
            )
        self.branch_dropout = nn.Dropout(config.branch_dropout)
        self.fusion1 = nn.Sequential(
            nn.Linear(config.fusion_width, EMBED_DIM), nn.BatchNorm1d(EMBED_DIM), nn.ReLU(inplace=True)
        )
        self.drop1 = nn.Dropout(0.4)
        self.fusion2 = nn.Sequential(
            nn.Linear(EMBED_DIM, HIDDEN_DIM), nn.BatchNorm1d(HIDDEN_DIM), nn.ReLU(inplace=True), nn.Dropout(0.3)
        )
        self.tag_head = nn.Linear(HIDDEN_DIM, config.n_tags) if "tags" in config.heads else None
        self.quadrant_head = nn.Linear(HIDDEN_DIM, config.n_quadrants) if "quadrant" in config.heads else None

    # -- input checking -------------------------------------------------------------------------------------
    def _check_mel(self, x: torch.Tensor) -> torch.Tensor:
        n_mels = self.config.n_mels
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != n_mels or x.shape[3] < 1:
            raise ValueError(f"mel must be (B, {n_mels}, T) or (B, 1, {n_mels}, T), got {tuple(x.shape)}")
        return x

    def _prepare(self, inputs: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor]:
        cfg = self.config
        missing = [b for b in cfg.branches if inputs.get(b) is None]
        if missing:
            raise ValueError(f"QuadFusionNet with branches {cfg.branches} needs inputs for {missing}")
        ready: dict[str, torch.Tensor] = {}
        for name in cfg.branches:
            x = inputs[name]
            assert x is not None
            if name == "mel":
                x = self._check_mel(x)
            else:
                width = {"muq": cfg.muq_dim, "genre": cfg.n_genres, "lowlevel": cfg.n_lowlevel}[name]
                if x.dim() != 2 or x.shape[1] != width:
                    raise ValueError(f"{name} must be (B, {width}), got {tuple(x.shape)}")
            ready[name] = x.float() if not torch.is_floating_point(x) else x
        sizes = {name: int(x.shape[0]) for name, x in ready.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"inputs disagree on batch size: {sizes}")
        return ready

    # -- forward ----------------------------------------------------------------------------------------------
    def _embedding(
        self, inputs: dict[str, torch.Tensor | None], mel_vector: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`mel_vector` (B, 256), when given, replaces the mel branch's CNN output (already pooled elsewhere)."""
        if mel_vector is not None:  # a 1-frame stand-in passes the checks; only its batch size is used
            inputs = dict(inputs, mel=mel_vector.new_zeros((mel_vector.shape[0], 1, self.config.n_mels, 1)))
        ready = self._prepare(inputs)
        parts = [
            self.branch_dropout(
                mel_vector if name == "mel" and mel_vector is not None else self.branch_modules[name](ready[name])
            )
            for name in self.config.branches
        ]
        return self.fusion1(torch.cat(parts, dim=1))

    def _heads(self, embedding: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.fusion2(self.drop1(embedding))
        out = {"embedding": embedding}
        if self.tag_head is not None:
            out["tag_logits"] = self.tag_head(hidden)
        if self.quadrant_head is not None:
            out["quadrant_logits"] = self.quadrant_head(hidden)
        return out

    def forward(
        self,
        mel: torch.Tensor | None = None,
        muq: torch.Tensor | None = None,
        genre: torch.Tensor | None = None,
        lowlevel: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Inputs for inactive branches are ignored; missing inputs for active ones raise ValueError."""
        return self._heads(self._embedding({"mel": mel, "muq": muq, "genre": genre, "lowlevel": lowlevel}))

    def mel_feature_map(self, mel: torch.Tensor) -> torch.Tensor:
        """The mel branch's (B, 256, F', T') feature map before global average pooling (mel checked like forward's).

        Its mean over (F', T') is exactly what `forward` feeds the fusion; the mean over a window of columns
        approximates the same network on the matching crop of the mel (shared-trunk test-time crops).
        """
        if "mel" not in self.config.branches:
            raise ValueError("this QuadFusionNet has no mel branch")
        x = self._check_mel(mel)
        return self.branch_modules["mel"].feature_map(x if torch.is_floating_point(x) else x.float())

    def forward_pooled(
        self,
        mel_vector: torch.Tensor,
        muq: torch.Tensor | None = None,
        genre: torch.Tensor | None = None,
        lowlevel: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """`forward` with the mel branch's pooled (B, 256) output given instead of the mel: fusion and heads only."""
        if "mel" not in self.config.branches:
            raise ValueError("this QuadFusionNet has no mel branch")
        if mel_vector.dim() != 2 or mel_vector.shape[1] != MEL_CHANNELS[-1]:
            raise ValueError(f"mel_vector must be (B, {MEL_CHANNELS[-1]}), got {tuple(mel_vector.shape)}")
        return self._heads(self._embedding({"muq": muq, "genre": genre, "lowlevel": lowlevel}, mel_vector=mel_vector))

    def embed(
        self,
        mel: torch.Tensor | None = None,
        muq: torch.Tensor | None = None,
        genre: torch.Tensor | None = None,
        lowlevel: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The 128-d post-BN, post-ReLU fusion embedding (skips the 64-d layer and the heads)."""
        return self._embedding({"mel": mel, "muq": muq, "genre": genre, "lowlevel": lowlevel})
