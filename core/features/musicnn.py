"""MusiCNN-MSD (Pons & Serra, 2019) in torch: 50 Million Song Dataset tags and a 200-d embedding per excerpt.

Why this network: it is small (787k parameters), its weights are ISC-licensed (MTG-UPF, musicnn 0.1.0) and can
ship with the app, and its penultimate layer is a strong audio-only descriptor of style and mood where a file
carries no genre tag. The architecture follows the published `MSD_musicnn` graph layer by layer; the weights are
converted once from the TF checkpoint by `scripts/convert_musicnn.py` and match it within 1e-4 (tests/).

Per excerpt the 16 kHz audio is cut into 3 s patches (`core.features.musicnn_mel`), every patch goes through the
network in one batch, and the outputs are averaged over patches: the tag activations (the taggram's mean) and the
penultimate embedding, each patch with its own features (the original extractor returned patch 0's for all).

`MusicnnNet.forward` takes a fixed-shape patch batch (N, 187, 96) and has no data-dependent Python control flow,
so it exports to ONNX with a dynamic batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.features.musicnn_mel import N_FFT, N_MELS, check_wave, log_mel, to_patches
from core.resources import resource_path

__all__ = ["EMBED_DIM", "MSD_TAGS", "N_TAGS", "MusicnnEmbedder", "MusicnnNet", "default_weights", "load_musicnn"]

# The tag vocabulary and sizes live in a torch-free module (genre inference and ONNX Runtime use them).
from core.features.musicnn_tags import ANALYSIS_PATCHES, EMBED_DIM, MSD_TAGS, N_TAGS, check_max_patches, patch_picks

BN_EPS = 1e-3  # TF's batch-normalisation default, which the checkpoint was trained with
CONSTANT_TOLERANCE = 1e-7  # a front-end channel that moves less than this for any input is computed as a constant
WEIGHTS_NAME = "musicnn_msd.safetensors"


def _bn_affine(bn: nn.BatchNorm2d | nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) per channel of an inference batch-norm: bn(x) = scale * x + shift."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias.detach() - bn.running_mean * scale


def _bn_scale_positive(bn: nn.BatchNorm2d | nn.BatchNorm1d) -> torch.Tensor:
    """(C,) bool: where the batch-norm's scale is >= 0, i.e. where it preserves order."""
    return _bn_affine(bn)[0] >= 0


class _FreqPooledConv(nn.Module):
    """conv2d -> ReLU -> batch-norm -> max over the whole frequency axis, as MusiCNN's front-end blocks.

    ReLU and an inference batch-norm are monotone per channel (increasing where the scale is >= 0, decreasing
    where it is negative), so they commute with max: the max (or min, for a negative scale) is taken on the raw
    convolution and only the pooled (N, C, T) result is normalised. Same numbers, a fraction of the memory traffic.
    """

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)
        self.time_pad = time_pad
        # After `drop_constant_filters`: the value of every dropped channel, and the gather that puts the kept
        # channels (first) and the dropped ones (after) back in the original channel order. Buffers, so they
        # follow the module to its device; not in the state dict, which keeps the checkpoint's full shapes.
        self.register_buffer("constant", None, persistent=False)
        self.register_buffer("order", None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, T, F) -> (N, C, T)
        y = self.conv(F.pad(x, (0, 0, *self.time_pad)))
        pooled = torch.where(_bn_scale_positive(self.bn)[None, :, None], y.amax(dim=3), y.amin(dim=3))
        out = F.batch_norm(
            torch.relu(pooled),
            self.bn.running_mean,
            self.bn.running_var,
            self.bn.weight,
            self.bn.bias,
            False,
            0.0,
            self.bn.eps,
        )
        if self.constant is None or self.order is None:
            return out
        fixed = self.constant[None, :, None].expand(out.shape[0], -1, out.shape[2])
        return torch.cat([out, fixed], dim=1).index_select(1, self.order)

    def drop_constant_filters(self, input_bound: float) -> int:
        """Stop computing filters whose output does not depend on the input; returns how many were dropped.

        Why: most of the checkpoint's front-end filters were trained to nothing (weights below 1e-8, most below
        1e-20). For inputs within ±`input_bound` such a filter's convolution is its bias plus at most
        reach = sum|w| * `input_bound`, so its channel is bn(relu(bias)) exactly when bias + reach <= 0 (the ReLU
        zeroes it) and otherwise within |bn scale| * reach, which is kept below 1e-7 (float32 rounding of values
        near 1). Such channels are filled with that constant instead of being convolved: the same numbers, and
        most of the network's arithmetic saved (about 4 in 5 of these filters are constant).
        """
        weight, bias = self.conv.weight.detach(), self.conv.bias.detach()
        bn = self.bn
        scale, shift = _bn_affine(bn)
        reach = weight.abs().flatten(1).sum(dim=1) * input_bound
        constant = (bias + reach <= 0) | (scale.abs() * reach <= CONSTANT_TOLERANCE)
        if not bool(constant.any()):
            return 0
        keep, drop = (~constant).nonzero().flatten(), constant.nonzero().flatten()
        value = (scale * torch.relu(bias) + shift)[drop]
        conv = nn.Conv2d(1, keep.numel(), self.conv.kernel_size)
        conv.weight.data.copy_(weight[keep])
        conv.bias.data.copy_(bias[keep])
        kept_bn = nn.BatchNorm2d(keep.numel(), eps=bn.eps)
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(kept_bn, name).data.copy_(getattr(bn, name).detach()[keep])
        self.conv, self.bn = conv.to(weight.device), kept_bn.eval().to(weight.device)
        self.constant = value.clone()
        self.order = torch.argsort(torch.cat([keep, drop]))
        return int(drop.numel())


class _MidConv(nn.Module):
    """Mid-end layer: a time convolution (kernel 7, 'same') over all feature channels -> ReLU -> batch-norm."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, 7, padding=3)
        self.bn = nn.BatchNorm1d(channels_out, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.relu(self.conv(x)))


def _same_pad(kernel: int) -> tuple[int, int]:
    """TF 'same' padding for stride 1: the extra sample of an even kernel goes after."""
    return (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2


class MusicnnNet(nn.Module):
    """The MSD_musicnn graph: (N, 187, 96) log-mel patches -> (embedding (N, 200), tag probabilities (N, 50))."""

    def __init__(self) -> None:
        super().__init__()
        self.bn_in = nn.BatchNorm2d(1, eps=BN_EPS)
        # Timbral filters span 40 % and 70 % of the mel axis over 7 frames; temporal ones 128/64/32 frames x 1 band.
        self.timbral74 = _FreqPooledConv(204, (7, int(0.4 * N_MELS)), (3, 3))
        self.timbral77 = _FreqPooledConv(204, (7, int(0.7 * N_MELS)), (3, 3))
        self.temporal128 = _FreqPooledConv(51, (128, 1), _same_pad(128))
        self.temporal64 = _FreqPooledConv(51, (64, 1), _same_pad(64))
        self.temporal32 = _FreqPooledConv(51, (32, 1), _same_pad(32))
        front = 2 * 204 + 3 * 51  # 561
        self.mid1 = _MidConv(front, 64)
        self.mid2 = _MidConv(64, 64)
        self.mid3 = _MidConv(64, 64)
        pooled = 2 * (front + 3 * 64)  # max and mean of 753 features
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, EMBED_DIM)
        self.dense_bn = nn.BatchNorm1d(EMBED_DIM, eps=BN_EPS)
        self.out = nn.Linear(EMBED_DIM, N_TAGS)
        self.register_buffer("mel_basis", torch.zeros(N_MELS, N_FFT // 2 + 1))

    def drop_constant_filters(self) -> int:
        """Drop the front-end filters that output a constant for any input (see `_FreqPooledConv`); returns how many.

        The input bound: a log-mel of any float32 audio is below 50 (log10 of 1e4 x the largest float32), and the
        input batch-norm scales it by |a| and shifts it by |b|, so every value fed to the convolutions lies within
        ±(50|a| + |b|) (time padding adds zeros). Called once after the weights are loaded.
        """
        scale, shift = _bn_affine(self.bn_in)
        bound = 50.0 * scale.abs().item() + shift.abs().item()
        blocks = (self.timbral74, self.timbral77, self.temporal128, self.temporal64, self.temporal32)
        return sum(block.drop_constant_filters(bound) for block in blocks)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.dense_bn(torch.relu(self.dense(self.pool_bn(self.pooled(patches)))))
        return emb, torch.sigmoid(self.out(emb))

    def pooled(self, patches: torch.Tensor) -> torch.Tensor:
        """(N, 187, 96) patches -> (N, 1506): max and mean over time of the front- and mid-end features, the layer
        below the embedding (scripts/ceiling_cv.py probes it as a richer, less MSD-specific descriptor)."""
        x = self.bn_in(patches.unsqueeze(1))  # (N, 1, 187, 96)
        front = torch.cat(
            [self.timbral74(x), self.timbral77(x), self.temporal128(x), self.temporal64(x), self.temporal32(x)], dim=1
        )  # (N, 561, T)
        c1 = self.mid1(front)
        c2 = self.mid2(c1) + c1
        c3 = self.mid3(c2) + c2
        mid = torch.cat([front, c1, c2, c3], dim=1)  # (N, 753, T)
        # TF flattens (753, 2) [max, mean] pairs feature by feature: keep that interleaved order.
        return torch.stack([mid.amax(dim=2), mid.mean(dim=2)], dim=2).flatten(1)


def default_weights() -> Path:
    return resource_path("models", "musicnn_msd", WEIGHTS_NAME)


class MusicnnEmbedder:
    """Runs `MusicnnNet` on whole excerpts: log-mel, patches from all inputs in shared batches, mean per excerpt."""

    def __init__(
        self,
        net: MusicnnNet,
        device: torch.device,
        patch_batch: int | None = None,
        max_patches: int | None = ANALYSIS_PATCHES,
    ) -> None:
        self.net = net.eval().to(device)
        self.device = device
        # At most this many evenly spaced patches per excerpt (None: all, as the original network's reference
        # outputs). The default is the app's analysis setting (`musicnn_tags.ANALYSIS_PATCHES`), which the shipped
        # model is trained on.
        self.max_patches = check_max_patches(max_patches)
        # Each patch's largest front-end map is ~9 MB (float32), so a pass costs ~15 MB per patch of transient
        # memory: one 30 s excerpt (10 patches) per pass on a CPU, 64 patches (~1 GB) on a GPU, which is
        # already enough to keep it busy and fits small cards.
        self.patch_batch = patch_batch or (64 if device.type == "cuda" else 10)
        self.window = torch.hann_window(N_FFT, periodic=True, device=device)

    def patches(self, wave: np.ndarray, index: int = 0) -> torch.Tensor:
        """(P, 187, 96) log-mel patches of one 16 kHz waveform, on the embedder's device."""
        audio = torch.from_numpy(check_wave(wave, index)).to(self.device)
        patches = to_patches(log_mel(audio, self.net.mel_basis, self.window))
        keep = patch_picks(patches.shape[0], self.max_patches)
        return patches if keep is None else patches[torch.tensor(keep, device=self.device)]

    @torch.inference_mode()
    def run_patches(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch (embedding, tags) for any number of patches, in batches of `patch_batch`.

        On CUDA the convolutions run in full float32 (no TF32), so GPU and CPU give the same numbers to ~1e-6.
        """
        cudnn = torch.backends.cudnn
        with cudnn.flags(
            enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic, allow_tf32=False
        ):
            outs = [self.net(chunk) for chunk in patches.split(self.patch_batch)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    @torch.inference_mode()
    def embed(self, waves16k: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """16 kHz mono waveforms (a list, or a (B, L) array) -> (embeddings (B, 200), tags (B, 50)), float32.

        Raises ValueError for an empty batch or an input that is not a finite 1-D waveform of at least 0.1 s.
        """
        waves = list(waves16k) if not isinstance(waves16k, np.ndarray) or waves16k.ndim == 2 else [waves16k]
        if not waves:
            raise ValueError("no waveforms to embed")
        per_wave = [self.patches(w, i) for i, w in enumerate(waves)]
        emb, tags = self.run_patches(torch.cat(per_wave))
        counts = [p.shape[0] for p in per_wave]
        emb_mean = torch.stack([e.mean(dim=0) for e in emb.split(counts)])
        tag_mean = torch.stack([t.mean(dim=0) for t in tags.split(counts)])
        return emb_mean.float().cpu().numpy(), tag_mean.float().cpu().numpy()


def load_musicnn(
    device: str | torch.device | None = None,
    weights: str | Path | None = None,
    patch_batch: int | None = None,
    max_patches: int | None = ANALYSIS_PATCHES,
) -> MusicnnEmbedder:
    """The shipped MSD MusiCNN, on CUDA when available unless `device` says otherwise; by default on the app's
    analysis patches (`max_patches=None` runs every patch, as the original network's reference does)."""
    from safetensors.torch import load_file

    path = Path(weights) if weights is not None else default_weights()
    if not path.is_file():
        raise FileNotFoundError(f"MusiCNN weights not found at {path}")
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = MusicnnNet()
    state = load_file(str(path))
    missing, unexpected = net.load_state_dict(state, strict=False)
    real_missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if real_missing or unexpected:
        raise ValueError(f"{path}: not MusiCNN-MSD weights (missing {real_missing[:5]}, unexpected {unexpected[:5]})")
    net.drop_constant_filters()
    return MusicnnEmbedder(net, dev, patch_batch, max_patches)
