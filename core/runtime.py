"""Which runtime runs the emotion model: the one decision, made here, for the indexer, the CLI and the app.

Two installs exist (docs/packaging.md): the lean runtime (numpy, scipy, ONNX Runtime; no torch) and the full one
(`.[gpu]` / `.[train]`, with torch). Features (mel, descriptors) are numpy on both; only the network differs:

* "onnx": ONNX Runtime on the exported graphs (`<checkpoint>/model.onnx`, scripts/export_onnx.py), with the CUDA
  provider when onnxruntime-gpu offers it, else the CPU;
* "torch": `core.inference.EmotionModel`, for checkpoints without ONNX graphs (freshly trained ones) and for a
  CUDA GPU when torch sees one and ONNX Runtime cannot use it.

`$QFX_BACKEND` (onnx | torch | auto) overrides the choice. Whether torch is installed is asked of the import
system without importing it, so the lean path never pays for (or needs) a torch import.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BACKEND_ENV = "QFX_BACKEND"
BACKENDS = ("onnx", "torch")
ONNX_FILE = "model.onnx"


def default_threads() -> int:
    """ONNX Runtime threads per session: $OMP_NUM_THREADS when set (the indexer's worker pool sets 1, as every
    worker already holds a core), else 0 = ONNX Runtime's default (all cores)."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS") or 0))
    except ValueError:
        return 0


class RuntimeUnavailable(RuntimeError):
    """No installed runtime can run the requested model (with a message that says what to install or do)."""


def module_available(name: str) -> bool:
    """True when `name` can be imported here, without importing it (a hidden or broken package counts as absent)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def torch_available() -> bool:
    return module_available("torch")


def onnxruntime_available() -> bool:
    return module_available("onnxruntime")


@lru_cache(maxsize=1)
def onnx_cuda_available() -> bool:
    """onnxruntime-gpu with a usable CUDA provider (the CPU-only wheel never lists it)."""
    if not onnxruntime_available():
        return False
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def _no_nvidia_driver() -> bool:
    """True when this Linux machine certainly has no NVIDIA driver loaded (then CUDA cannot work)."""
    return sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia/version")


@lru_cache(maxsize=1)
def torch_cuda_available() -> bool:
    """Imports torch only when it is installed and an NVIDIA driver could be there (importing torch costs seconds
    of CPU); False on a torch-free install."""
    if not torch_available() or _no_nvidia_driver():
        return False
    import torch

    return bool(torch.cuda.is_available())


def has_onnx_export(model_dir: str | Path) -> bool:
    return (Path(model_dir) / ONNX_FILE).is_file()


def choose_backend(model_dir: str | Path, device: str | None = None) -> str:
    """ "onnx" or "torch" for the checkpoint folder `model_dir` (see the module docstring); raises RuntimeUnavailable.

    `device` ("cpu", "cuda") narrows the choice: "cpu" never imports torch to look for a GPU."""
    wanted = (os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if wanted not in (*BACKENDS, "auto"):
        raise RuntimeUnavailable(f"${BACKEND_ENV} must be one of onnx, torch, auto; got {wanted!r}")
    onnx_ok = onnxruntime_available() and has_onnx_export(model_dir)
    if wanted == "onnx" and not onnx_ok:
        raise RuntimeUnavailable(_missing_onnx(model_dir))
    if wanted == "torch" and not torch_available():
        raise RuntimeUnavailable("torch is not installed: install the GPU/training extras (pip install '.[gpu]')")
    if wanted != "auto":
        return wanted
    cpu_only = device is not None and not str(device).startswith("cuda")
    if onnx_ok and (cpu_only or onnx_cuda_available()):
        return "onnx"
    if torch_available() and (not onnx_ok or (not cpu_only and torch_cuda_available())):
        return "torch"
    if onnx_ok:
        return "onnx"
    raise RuntimeUnavailable(_missing_onnx(model_dir))


def _missing_onnx(model_dir: str | Path) -> str:
    if not onnxruntime_available():
        return "onnxruntime is not installed (pip install onnxruntime) and neither is torch"
    return (
        f"{model_dir} has no {ONNX_FILE}: export it with `python scripts/export_onnx.py {model_dir}` "
        "(needs the training extras), or install torch to run the checkpoint directly"
    )


def load_emotion_model(
    path: str | Path | None = None, device: str | None = None, profile: str | None = None, **checks: Any
) -> Any:
    """The emotion model of checkpoint folder `path` (default: the shipped one) on the chosen runtime.

    Both runtimes offer the same interface (predict, version, tags, uses_muq, device, ...) and raise
    core.checkpoint.CheckpointError for a missing or incompatible checkpoint."""
    from core.checkpoint import CONFIG_FILE, CheckpointError
    from core.inference_base import default_model_dir

    directory = Path(path) if path is not None else default_model_dir()
    if not (directory / CONFIG_FILE).is_file():
        where = "the shipped default model" if path is None else "the model"
        raise CheckpointError(f"{where} is not installed: no {CONFIG_FILE} in {directory}")
    if choose_backend(directory, device) == "onnx":
        from core.onnx_runtime import OnnxEmotionModel

        try:
            return OnnxEmotionModel.load(directory, device=device, profile=profile, **checks)
        except CheckpointError as exc:  # e.g. graphs older than retrained weights: torch still runs the weights
            forced = (os.environ.get(BACKEND_ENV) or "auto").strip().lower() == "onnx"
            if forced or not torch_available():
                raise
            log.warning("ONNX graphs unusable (%s); running %s on torch", exc, directory)
    from core.inference import EmotionModel

    return EmotionModel.load(directory, device=device, profile=profile, **checks)


def load_musicnn_embedder(device: str | None = None, weights: str | Path | None = None) -> Any:
    """MusiCNN-MSD on the same rule as the emotion model: ONNX Runtime on a CPU when its graph is there (and always
    without torch), torch for CUDA or when the graph is missing. Both offer `embed(waves) -> (emb, tags)`."""
    cpu = device is None or not str(device).startswith("cuda")
    wanted = (os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if onnxruntime_available() and (wanted == "onnx" or not torch_available() or (cpu and wanted != "torch")):
        from core.features.musicnn_onnx import MusicnnUnavailable, load_onnx_musicnn

        try:
            return load_onnx_musicnn(weights)
        except MusicnnUnavailable:
            if not torch_available():
                raise
    if not torch_available():
        raise RuntimeUnavailable("MusiCNN needs onnxruntime and its exported graph, or torch")
    from core.features.musicnn import load_musicnn

    return load_musicnn(device or "cpu", weights)
