"""Reading an exported checkpoint folder for core.onnx_runtime: the model interface its config declares, whether it
suits the running code, which graph file to run (fp32 or int8) and whether that graph was exported from the weights
beside it.

Split from core.onnx_runtime so that module keeps one job (running the graphs); like it, this module never imports
torch (the lean bundle has none). core.onnx_runtime re-exports the public names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.checkpoint import (
    _UNSET,
    CONFIG_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    check_running_code,
)
from core.inference_base import InferenceError, file_hash
from core.runtime import ONNX_FILE

if TYPE_CHECKING:
    from core.onnx_runtime import RuntimeDevice

ONNX_FORMAT = "quadfusion-onnx"
# "fp32": model.onnx, the exact export; "int8": model.int8.onnx, int8 convolutions (scripts/export_onnx.py --int8),
# about twice as fast on a CPU with a small metric change (docs/benchmarks.md). Part of the cache version.
PRECISIONS = {"fp32": ONNX_FILE, "int8": "model.int8.onnx"}
PRECISION_ENV = "QFX_ONNX_PRECISION"
_PRETRAINED_DIMS = {"muq": 1024, "musicnn": 250}  # = core.model.PRETRAINED_DIMS (that module needs torch)


@dataclass(frozen=True)
class ModelInterface:
    """The parts of the checkpoint's ModelConfig the runtime needs (core.model needs torch, so not that class)."""

    branches: tuple[str, ...]
    heads: tuple[str, ...]
    n_mels: int
    n_tags: int
    n_quadrants: int
    mel_frames: int | None
    widths: dict[str, int]
    pretrained: str = "muq"  # which embedding feeds the "muq" branch (core.model.ModelConfig.pretrained)

    @property
    def pretrained_kind(self) -> str | None:
        return self.pretrained if "muq" in self.branches else None


def _read_graph(directory: Path, precision: str = "fp32") -> bytes:
    """The folder's graph bytes, refused when it was exported from other weights than the ones beside it."""
    path = directory / PRECISIONS[precision]
    if not path.is_file():
        flag = " --int8 --calibrate AUDIO_FOLDER" if precision == "int8" else ""
        raise CheckpointError(f"{directory} has no {path.name}: run scripts/export_onnx.py{flag} {directory}")
    blob = path.read_bytes()
    import onnxruntime as ort

    try:
        meta = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    except Exception as exc:  # onnxruntime raises its own exception types for damaged files
        raise CheckpointError(f"{path} is damaged: {exc}") from exc
    if meta.get("format") != ONNX_FORMAT:
        raise CheckpointError(f"{path} is not a QuadFusion ONNX export")
    expected = file_hash(directory / WEIGHTS_FILE, directory / CONFIG_FILE)
    if meta.get("source_hash") != expected:
        raise CheckpointError(f"{path} was exported from other weights: re-run scripts/export_onnx.py {directory}")
    return blob


def _resolve_precision(precision: str | None, device: RuntimeDevice, folders: Sequence[Path]) -> str:
    source = "precision"
    if precision is None:
        precision = os.environ.get(PRECISION_ENV) or None
        source = PRECISION_ENV
    if precision is None:
        shipped = all((f / PRECISIONS["int8"]).is_file() for f in folders)
        return "int8" if device.type == "cpu" and shipped else "fp32"
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise InferenceError(f"unknown ONNX {source} {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return name


def _check_running_code(doc: dict[str, Any], directory: Path, checks: dict[str, Any]) -> None:
    """The same compatibility checks as core.checkpoint.load_checkpoint (tags, genres, extractor version)."""
    tags = checks.get("expected_tags", _UNSET)
    genres = checks.get("expected_genres", _UNSET)
    version = checks.get("expected_extractor_version", _UNSET)
    check_running_code(doc, f"checkpoint {directory}", tags, genres, version)


def _interface(doc: dict[str, Any]) -> ModelInterface:
    cfg = doc["model"]
    pretrained = cfg.get("pretrained", "muq")
    widths = {
        "genre": cfg.get("n_genres") or len(doc["genres"]),
        "lowlevel": cfg.get("n_lowlevel", 8),
        "muq": cfg.get("muq_dim") or _PRETRAINED_DIMS.get(pretrained, 1024),
    }
    for key, value in cfg.items():  # branches added later declare their width as "<branch>_dim"
        if key.endswith("_dim") and key[:-4] in cfg.get("branches", []):
            widths[key[:-4]] = int(value)
    branches = tuple(cfg.get("branches", ()))
    return ModelInterface(
        branches=branches,
        heads=tuple(cfg.get("heads", ("tags", "quadrant"))),
        n_mels=int(cfg.get("n_mels", 48)),
        n_tags=int(cfg.get("n_tags", 12)),
        n_quadrants=int(cfg.get("n_quadrants", 4)),
        mel_frames=cfg.get("mel_frames"),
        widths={b: int(widths[b]) for b in branches if b != "mel" and b in widths},
        pretrained=pretrained,
    )
