"""MuQ track embeddings: a 1024-d summary of a 24 kHz excerpt from the pretrained MuQ music encoder.

The weights (OpenMuQ/MuQ-large-msd-iter, CC-BY-NC 4.0) are never downloaded implicitly: they are found in a
local folder or the Hugging Face cache, or the user opts in with `allow_download=True`. Tests and the benchmark
build the same `muq.MuQ` architecture with random weights (`tiny_muq_embedder`, `full_size_random_muq`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

MUQ_REPO_ID = "OpenMuQ/MuQ-large-msd-iter"
SAMPLE_RATE = 24000
MUQ_DIM = 1024
TOKEN_HOP = 960  # samples per encoder token: 240-sample mel hop x 4 (two stride-2 convolutions) = 25 tokens/s
MIN_SAMPLES = SAMPLE_RATE  # shorter inputs are zero-padded to 1 s; only their real tokens are averaged
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

# Mel statistics MuQ normalises its input with (from the published MuQ-large configuration).
_MEL_STAT = {
    "melspec_2048_cnt": 14282760192,
    "melspec_2048_mean": 6.768444971712967,
    "melspec_2048_std": 18.417922652295623,
}


class MuQUnavailable(Exception):
    """MuQ weights are not available locally (or could not be loaded); the message says where we looked."""


# The conformer settings MuQ-large and the tiny test model share; each passes its own sizes on top.
_CONFORMER_SHARED: dict[str, Any] = dict(
    hidden_act="swish",
    position_embeddings_type="rotary",
    rotary_embedding_base=10000,
    layer_norm_eps=1e-5,
    max_source_positions=5000,
    do_stable_layer_norm=True,
    layerdrop=0.0,
)


def _conformer_config(**overrides: Any) -> dict[str, Any]:
    """A complete wav2vec2-conformer config dict, as MuQModel expects in `w2v2_config`."""
    from transformers import Wav2Vec2ConformerConfig

    cfg = Wav2Vec2ConformerConfig(**{**_CONFORMER_SHARED, **overrides}).to_dict()
    for key in ("id2label", "label2id"):  # int-keyed dicts that MuQ's EasyDict wrapper cannot hold
        cfg.pop(key, None)
    return cfg


def muq_large_config() -> dict[str, Any]:
    """Architecture of MuQ-large-msd-iter: 12 conformer layers, width 1024, 16 heads, rotary positions."""
    w2v2 = _conformer_config(
        hidden_size=1024,
        intermediate_size=4096,
        num_attention_heads=16,
        conv_depthwise_kernel_size=31,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        hidden_dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.1,
        conformer_conv_dropout=0.1,
        feat_proj_dropout=0.1,
    )
    return dict(
        label_rate=25,
        num_codebooks=1,
        codebook_dim=16,
        codebook_size=4096,
        features=["melspec_2048"],
        hop_length=240,
        n_mels=128,
        conv_dim=512,
        encoder_dim=1024,
        encoder_depth=12,
        mask_hop=0.4,
        mask_prob=0.6,
        is_flash=False,
        stat=dict(_MEL_STAT),
        w2v2_config=w2v2,
    )


def tiny_muq_config(dim: int = MUQ_DIM, depth: int = 1) -> dict[str, Any]:
    """Same code path as MuQ-large, a fraction of the compute: 1 layer, narrow convolutions and feed-forward."""
    if dim % 4:
        raise ValueError("tiny MuQ width must be a multiple of 4 (4 attention heads)")
    cfg = muq_large_config()
    cfg.update(conv_dim=8, encoder_dim=dim, encoder_depth=depth, codebook_size=16)
    cfg["w2v2_config"] = _conformer_config(
        hidden_size=dim,
        intermediate_size=256,
        num_attention_heads=4,
        conv_depthwise_kernel_size=7,
        num_conv_pos_embeddings=2,
        num_conv_pos_embedding_groups=2,
    )
    return cfg


def _build_random(config: dict[str, Any], seed: int) -> torch.nn.Module:
    from muq import MuQ, MuQConfig

    # MuQ's constructor reseeds torch's global RNG (its random quantizer calls torch.manual_seed(142)), so the
    # layers are re-initialised under our own seed, inside a forked RNG that leaves the caller's state alone.
    with torch.random.fork_rng(devices=[]):
        model = MuQ(MuQConfig(**config))
        torch.manual_seed(seed)
        for module in model.modules():
            if module is not model and hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return model.eval()


def full_size_random_muq(seed: int = 0) -> torch.nn.Module:
    """The real MuQ-large architecture with random weights: same cost as the real model, for benchmarks."""
    return _build_random(muq_large_config(), seed)


class MuQEmbedder:
    """Mean-over-time embeddings of one MuQ hidden layer, batched by exact input length.

    Inputs of equal length are batched without padding, so an embedding never depends on its batch mates.
    Inputs longer than `chunk_seconds` are cut into chunks (attention cost grows with the square of the
    length) and the chunk means are averaged, weighted by their token counts.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        device: str | torch.device | None = None,
        layer: int = -1,
        chunk_seconds: float = 30.0,
        source: str = "",
        fast: bool | None = None,
    ) -> None:
        self.device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        if fast if fast is not None else self.device.type == "cuda":  # the same function, ~2x less GPU time
            from core.features.muq_fast import speed_up_for_cuda

            speed_up_for_cuda(self.model)
        n_states = int(self.model.config.encoder_depth) + 1
        if not -n_states <= layer < n_states:
            raise ValueError(f"layer {layer} out of range for a model with {n_states} hidden states")
        self.layer = layer
        self.dim = int(self.model.config.encoder_dim)
        self.chunk_samples = max(MIN_SAMPLES, int(round(chunk_seconds * SAMPLE_RATE)))
        self.source = source

    def _chunks(self, wave: np.ndarray) -> list[np.ndarray]:
        n = len(wave)
        if n <= self.chunk_samples:
            return [wave]
        bounds = list(range(0, n, self.chunk_samples))
        if n - bounds[-1] < MIN_SAMPLES:  # a tiny tail joins the previous chunk
            bounds.pop()
        return [wave[b:e] for b, e in zip(bounds, bounds[1:] + [n])]

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def embed(self, waves24k: Sequence[np.ndarray], batch_size: int = 8) -> np.ndarray:
        """(B, dim) float32 embeddings of mono 24 kHz waveforms; raises ValueError for empty/non-finite input."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        items: list[tuple[int, np.ndarray, int]] = []  # (wave index, chunk, real token count)
        for i, w in enumerate(waves24k):
            w = np.asarray(w, dtype=np.float32)
            if w.ndim != 1 or w.size == 0:
                raise ValueError(f"wave {i}: expected a non-empty 1-D array, got shape {w.shape}")
            if not np.isfinite(w).all():
                raise ValueError(f"wave {i}: contains NaN or infinite samples")
            for chunk in self._chunks(w):
                tokens = math.ceil(len(chunk) / TOKEN_HOP)
                if len(chunk) < MIN_SAMPLES:
                    chunk = np.pad(chunk, (0, MIN_SAMPLES - len(chunk)))
                items.append((i, chunk, tokens))
        sums = np.zeros((len(waves24k), self.dim), dtype=np.float64)
        weights = np.zeros(len(waves24k), dtype=np.float64)
        groups: dict[int, list[int]] = defaultdict(list)
        for k, (_, chunk, _) in enumerate(items):
            groups[len(chunk)].append(k)
        with torch.inference_mode(), self._autocast():
            for length in sorted(groups):
                idx = groups[length]
                for s in range(0, len(idx), batch_size):
                    part = idx[s : s + batch_size]
                    x = torch.from_numpy(np.stack([items[k][1] for k in part])).to(self.device)
                    hidden = self.model(x, output_hidden_states=True).hidden_states[self.layer]
                    n_tok = min(items[part[0]][2], hidden.shape[1])
                    means = hidden[:, :n_tok].float().mean(dim=1).cpu().numpy()
                    for row, k in zip(means, part):
                        wave_i, _, tok = items[k]
                        sums[wave_i] += row * tok
                        weights[wave_i] += tok
        return (sums / np.maximum(weights, 1.0)[:, None]).astype(np.float32)


def _has_weights(directory: Path) -> bool:
    return (directory / "config.json").is_file() and any((directory / f).is_file() for f in WEIGHT_FILES)


def _cached_snapshot(repo_id: str, cache_dir: str | Path | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=str(cache_dir) if cache_dir else None)
    if isinstance(found, str) and _has_weights(Path(found).parent):
        return Path(found).parent
    return None


def _how_to_get(repo_id: str) -> str:
    return (
        f"Download the weights once (about 1.3 GB, licence CC-BY-NC 4.0, non-commercial use only) with "
        f"`huggingface-cli download {repo_id}`, or put config.json + model.safetensors in a folder and pass it "
        f"as model_dir (in the explorer: --muq-dir, or Settings ▸ MuQ weights folder…)."
    )


def load_muq_embedder(
    model_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    layer: int = -1,
    *,
    allow_download: bool = False,
    cache_dir: str | Path | None = None,
    repo_id: str = MUQ_REPO_ID,
) -> MuQEmbedder:
    """Load pretrained MuQ from `model_dir`, else from the Hugging Face cache, offline unless allowed. Which
    folder (command line, environment, settings) is the application's decision, made before this is called."""
    from huggingface_hub import constants

    looked: list[str] = []
    directory: Path | None = None
    if model_dir is not None:
        directory = Path(model_dir).expanduser()
        if not _has_weights(directory):
            raise MuQUnavailable(
                f"No MuQ weights in {directory} (need config.json and one of {', '.join(WEIGHT_FILES)}). "
                + _how_to_get(repo_id)
            )
    else:
        directory = _cached_snapshot(repo_id, cache_dir)
        looked.append(f"the Hugging Face cache ({cache_dir or constants.HF_HUB_CACHE}) for {repo_id}")
        if directory is None and allow_download:
            try:
                from huggingface_hub import snapshot_download

                directory = Path(
                    snapshot_download(
                        repo_id,
                        cache_dir=str(cache_dir) if cache_dir else None,
                        allow_patterns=["config.json", *WEIGHT_FILES],
                    )
                )
            except Exception as exc:
                raise MuQUnavailable(f"Downloading {repo_id} failed: {exc}") from exc
        if directory is None:
            raise MuQUnavailable(f"MuQ weights not found: looked in {'; '.join(looked)}. " + _how_to_get(repo_id))
    try:
        from muq import MuQ

        with torch.random.fork_rng(devices=[]):  # MuQ's constructor reseeds the global RNG
            model = MuQ.from_pretrained(str(directory), local_files_only=True)
    except Exception as exc:
        raise MuQUnavailable(f"Could not load MuQ weights from {directory}: {exc}") from exc
    return MuQEmbedder(model, device=device, layer=layer, source=str(directory))


def tiny_muq_embedder(
    dim: int = MUQ_DIM, device: str | torch.device | None = "cpu", layer: int = -1, seed: int = 0
) -> MuQEmbedder:
    """A real MuQ forward pass with random weights and a 1-layer config: (B, dim) outputs in well under 1 s/clip."""
    return MuQEmbedder(_build_random(tiny_muq_config(dim), seed), device=device, layer=layer, source="tiny-random")
