"""Export a QuadFusionNet checkpoint (and every ensemble member) to ONNX, for torch-free inference.

Each checkpoint folder gets a `model.onnx` next to its `model.safetensors`: one graph per voter, whose inputs are
the *normalised* branch inputs (normalisation, mel fitting and crop geometry stay in numpy, shared by both
runtimes through core.inference_base) and, for mel models, `pool`: a (K, T') matrix of averaging weights over the
final feature map's columns. Row k of `pool` averages one window (shared-trunk test-time crops) or every column
(the whole mel), so one trunk pass yields every crop's outputs at once, exactly as `EmotionModel` computes them
(mean over frequency, then a weighted mean over time is the same average as `fmap[..., a:b].mean((2, 3))`).

Outputs per input row and pool row: `tag_probs` (B, K, n_tags) and `quadrant_probs` (B, K, 4) (softmax inside the
graph) and `embedding` (B, K, 128). Graph metadata records the source checkpoint's hash, so a graph that no longer
matches its weights is refused at load time instead of silently giving old answers. Needs torch and onnx.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_checkpoint
from core.inference_base import file_hash, pooled_length
from core.model import QuadFusionNet
from core.runtime import ONNX_FILE

ONNX_FORMAT = "quadfusion-onnx"
ONNX_FORMAT_VERSION = 1
OPSET = 17


def source_hash(directory: Path) -> str:
    """What a graph was exported from: the folder's weights and config."""
    return file_hash(directory / WEIGHTS_FILE, directory / CONFIG_FILE)


def branch_width(model: QuadFusionNet, branch: str) -> int:
    """Input width of a vector branch, read from its first layer (works for branches added later too)."""
    first = model.branch_modules[branch][0]
    return int(first.in_features)


class VoterGraph(nn.Module):
    """One voter as exported: normalised inputs (+ pooling weights) in, probabilities and embeddings out."""

    def __init__(self, model: QuadFusionNet) -> None:
        super().__init__()
        self.model = model
        self.vectors = [b for b in model.config.branches if b != "mel"]
        self.has_mel = "mel" in model.config.branches

    def _finish(self, out: dict[str, torch.Tensor], batch: Any, k: Any) -> tuple[torch.Tensor, ...]:
        def shaped(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(batch, k, x.shape[-1])

        outputs = []
        if "tag_logits" in out:
            outputs.append(shaped(torch.softmax(out["tag_logits"], dim=1)))
        if "quadrant_logits" in out:
            outputs.append(shaped(torch.softmax(out["quadrant_logits"], dim=1)))
        outputs.append(shaped(out["embedding"]))
        return tuple(outputs)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.has_mel:
            vectors = dict(zip(self.vectors, inputs))
            out = self.model(**vectors)
            return self._finish(out, inputs[0].shape[0], 1)
        mel, pool, *rest = inputs
        fmap = self.model.mel_feature_map(mel)  # (B, C, F', T')
        columns = fmap.mean(dim=2).transpose(1, 2)  # (B, T', C)
        pooled = torch.matmul(pool, columns)  # (B, K, C)
        batch, k, channels = pooled.shape[0], pooled.shape[1], pooled.shape[2]
        flat = pooled.reshape(-1, channels)
        vectors = {
            b: x.unsqueeze(1).expand(-1, k, -1).reshape(flat.shape[0], x.shape[1]) for b, x in zip(self.vectors, rest)
        }
        return self._finish(self.model.forward_pooled(flat, **vectors), batch, k)


def _names(model: QuadFusionNet) -> tuple[list[str], list[str]]:
    branches = model.config.branches
    inputs = (["mel", "pool"] if "mel" in branches else []) + [b for b in branches if b != "mel"]
    outputs = (
        (["tag_probs"] if "tags" in model.config.heads else [])
        + (["quadrant_probs"] if "quadrant" in model.config.heads else [])
        + ["embedding"]
    )
    return inputs, outputs


def _example(model: QuadFusionNet, frames: int) -> tuple[torch.Tensor, ...]:
    cfg = model.config
    rng = np.random.default_rng(0)
    args: list[torch.Tensor] = []
    if "mel" in cfg.branches:
        args.append(torch.from_numpy(rng.standard_normal((2, cfg.n_mels, frames)).astype(np.float32)))
        width = pooled_length(frames)
        args.append(torch.full((3, width), 1.0 / width))
    for b in cfg.branches:
        if b != "mel":
            args.append(torch.from_numpy(rng.standard_normal((2, branch_width(model, b))).astype(np.float32)))
    return tuple(args)


def export_voter(directory: Path, frames: int | None = None, **checks: Any) -> Path:
    """Write `directory/model.onnx` for the checkpoint in `directory`; returns its path."""
    import onnx

    model, meta = load_checkpoint(directory, map_location="cpu", **checks)
    model.eval()
    graph = VoterGraph(model).eval()
    example = _example(model, frames or model.config.mel_frames or 1876)
    inputs, outputs = _names(model)
    dynamic: dict[str, dict[int, str]] = {name: {0: "batch"} for name in inputs if name != "pool"}
    if "mel" in inputs:
        dynamic["mel"] = {0: "batch", 2: "frames"}
        dynamic["pool"] = {0: "pools", 1: "columns"}
    dynamic.update({name: {0: "batch", 1: "pools"} for name in outputs})
    target = directory / ONNX_FILE
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants: intended
        # The TorchScript exporter on purpose: stable dynamic axes for this small static graph, no onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            graph,
            example,
            str(target),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(target))
    info = {
        "format": ONNX_FORMAT,
        "format_version": str(ONNX_FORMAT_VERSION),
        "source_hash": source_hash(directory),
        "widths": json.dumps({b: branch_width(model, b) for b in model.config.branches if b != "mel"}),
    }
    del proto.metadata_props[:]
    for key, value in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(target))
    return target


def export_checkpoint(directory: str | Path, **checks: Any) -> list[Path]:
    """Export the folder's own model and every ensemble member it lists; returns the written graphs."""
    directory = Path(directory)
    _, meta = load_checkpoint(directory, map_location="cpu", **checks)
    written = [export_voter(directory, **checks)]
    for name in (meta.get("inference") or {}).get("members", []):
        written.append(export_voter(directory / name, **checks))
    return written


def parity_error(directory: str | Path, frames: int = 2400, **checks: Any) -> float:
    """Max abs difference between the exported graph and the torch model on random inputs (every output, three
    pool rows: the whole mel and two windows), at a mel length other than the one used for export."""
    import onnxruntime as ort

    directory = Path(directory)
    model, _ = load_checkpoint(directory, map_location="cpu", **checks)
    graph = VoterGraph(model).eval()
    example = _example(model, frames)
    if "mel" in model.config.branches:
        width = pooled_length(frames)
        pool = np.zeros((3, width), np.float32)
        pool[0] = 1.0 / width
        pool[1, : width // 2] = 1.0 / (width // 2)
        pool[2, width // 3 :] = 1.0 / (width - width // 3)
        example = (example[0], torch.from_numpy(pool), *example[2:])
    with torch.no_grad():
        expected = [t.numpy() for t in graph(*example)]
    session = ort.InferenceSession(str(directory / ONNX_FILE), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, {n: t.numpy() for n, t in zip(names, example)})
    return max(float(np.abs(a - b).max()) for a, b in zip(expected, got))


INT8_FILE = "model.int8.onnx"


def calibration_feeds(directory: str | Path, audio_files: Sequence[str | Path], **checks: Any) -> list[list[dict]]:
    """Per voter of the full ensemble, the exact graph inputs the runtime would feed for each audio file."""
    from core.features.track import extract_track_features
    from core.onnx_runtime import OnnxEmotionModel

    model = OnnxEmotionModel.load(directory, device="cpu", profile="full", **checks)
    feats = [extract_track_features(p) for p in audio_files]
    raw = {
        "mel": [f.mel for f in feats],
        "lowlevel": np.stack([f.lowlevel for f in feats]),
        "genre": np.stack([f.genre for f in feats]),
    }
    per_voter = []
    for voter in model._voters:
        feeds = []
        for i in range(len(feats)):
            for batch in model._batches(raw, i, i + 1, voter.norm):
                feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in batch.items() if k in model.branches}
                if "mel" in feed:
                    feed["pool"] = model._pool(feed["mel"].shape[-1])
                feeds.append(feed)
        per_voter.append(feeds)
    return per_voter


def quantize_voter(directory: Path, feeds: Sequence[dict[str, np.ndarray]]) -> Path:
    """`directory/model.int8.onnx`: the convolutions as int8 (static QDQ, per-channel weights, activation ranges
    calibrated on `feeds`), everything else float. The metadata (source hash) is carried over."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    target = directory / INT8_FILE
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(directory / ONNX_FILE), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(target),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv"],
        )
    source = onnx.load(str(directory / ONNX_FILE))
    proto = onnx.load(str(target))
    del proto.metadata_props[:]
    for entry in source.metadata_props:
        added = proto.metadata_props.add()
        added.key, added.value = entry.key, entry.value
    added = proto.metadata_props.add()
    added.key, added.value = "precision", "int8"
    onnx.save(proto, str(target))
    return target


def quantize_checkpoint(directory: str | Path, audio_files: Sequence[str | Path], **checks: Any) -> list[Path]:
    """int8 graphs for the folder's own model and every member, calibrated on `audio_files` (training clips)."""
    directory = Path(directory)
    _, meta = load_checkpoint(directory, map_location="cpu", **checks)
    folders = [directory] + [directory / m for m in (meta.get("inference") or {}).get("members", [])]
    per_voter = calibration_feeds(directory, audio_files, **checks)
    return [quantize_voter(folder, feeds) for folder, feeds in zip(folders, per_voter)]


def export_musicnn(weights: str | Path | None = None) -> Path:
    """`musicnn_msd.onnx` (+ its filterbank as .npy) beside the MusiCNN weights: (N, 187, 96) patches in,
    (embedding (N, 200), tags (N, 50)) out, dynamic N."""
    import onnx

    from core.features.musicnn import default_weights, load_musicnn
    from core.features.musicnn_onnx import MEL_BASIS_NAME, ONNX_NAME, weights_hash

    path = Path(weights) if weights is not None else default_weights()
    net = load_musicnn("cpu", path).net.eval()
    target = path.parent / ONNX_NAME
    example = torch.from_numpy(np.random.default_rng(0).normal(1.0, 1.0, (3, 187, 96)).astype(np.float32))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (example,),
            str(target),
            input_names=["patches"],
            output_names=["embedding", "tags"],
            dynamic_axes={"patches": {0: "patches"}, "embedding": {0: "patches"}, "tags": {0: "patches"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(target))
    del proto.metadata_props[:]
    for key, value in {"format": "quadfusion-musicnn-onnx", "source_hash": weights_hash(path)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(target))
    np.save(path.parent / MEL_BASIS_NAME, net.mel_basis.numpy().astype(np.float32))
    return target


def musicnn_parity_error(weights: str | Path | None = None) -> float:
    """Max abs difference, torch vs ONNX Runtime MusiCNN (numpy log-mel included) on two synthetic excerpts."""
    from core.features.musicnn import load_musicnn
    from core.features.musicnn_onnx import load_onnx_musicnn

    rng = np.random.default_rng(1)
    waves = [
        (0.2 * np.sin(np.arange(n) * 0.05) + 0.05 * rng.standard_normal(n)).astype(np.float32)
        for n in (16000 * 7, 16000 * 2)
    ]
    ref = load_musicnn("cpu", weights).embed(waves)
    got = load_onnx_musicnn(weights).embed(waves)
    return max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
