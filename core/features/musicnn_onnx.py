"""MusiCNN-MSD without torch: the log-mel and patches in numpy, the network on ONNX Runtime.

Mirrors `core.features.musicnn.MusicnnEmbedder` (same `embed(waves) -> (embeddings (B, 200), tags (B, 50))`): the
same centred 512/256 STFT with a periodic Hann window and zero padding, the filterbank stored with the weights,
log10(10000 x + 1), non-overlapping 187-frame patches (short inputs repeat-padded), the same evenly spaced picks
of them, means over patches. The graph (`musicnn_msd.onnx` beside the weights) is written by
scripts/export_onnx.py and refused when the weights change. Parity with torch is tested (tests/test_onnx_runtime.py).
The constants and `check_wave` are defined here, torch-free,
and `core.features.musicnn_mel` imports them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft

from core.features.musicnn_tags import ANALYSIS_PATCHES, check_max_patches, patch_picks
from core.inference_base import file_hash

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
MIN_SAMPLES = SAMPLE_RATE // 10  # below 0.1 s there is nothing a 3 s tagger can say
ONNX_NAME = "musicnn_msd.onnx"
MEL_BASIS_NAME = "musicnn_mel_basis.npy"


class MusicnnUnavailable(RuntimeError):
    """The MusiCNN graph (or its filterbank) is missing or stale: export it with scripts/export_onnx.py."""


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def check_wave(wave: object, index: int = 0) -> np.ndarray:
    """A 1-D finite float32 array, or a ValueError naming the input and what is wrong with it (torch and ONNX)."""
    arr = np.asarray(wave)
    where = f"input {index}"
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{where}: expected a numeric waveform, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected a 1-D mono waveform at {SAMPLE_RATE} Hz, got shape {arr.shape}")
    if arr.size < MIN_SAMPLES:
        raise ValueError(f"{where}: {arr.size} samples is too short (at least {MIN_SAMPLES}, 0.1 s at 16 kHz)")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: waveform contains NaN or infinite samples")
    return arr


def _frames(wave: np.ndarray) -> np.ndarray:
    """(1 + L // 256, 512) view of the centred STFT's frames (zero padding, no copy of the frames)."""
    padded = np.concatenate([np.zeros(N_FFT // 2, np.float32), wave, np.zeros(N_FFT // 2, np.float32)])
    return np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]


def _log_mel_of(frames: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    spec = scipy.fft.rfft(frames * _window(), axis=1, workers=1)
    power = spec.real * spec.real + spec.imag * spec.imag  # (T, 257)
    return np.log10(10000.0 * (power @ mel_basis.T) + 1.0).astype(np.float32)


def log_mel(wave: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """(L,) float32 -> (1 + L // 256, 96) log10(10000 mel + 1), as `core.features.musicnn_mel.log_mel`."""
    return _log_mel_of(_frames(wave), mel_basis)


def picked_patches(wave: np.ndarray, mel_basis: np.ndarray, max_patches: int | None) -> np.ndarray:
    """`to_patches(log_mel(wave))[patch_picks(...)]`, computing the log-mel of the picked patches' frames only.

    Why: every frame is its own windowed FFT, so the frames of the patches the network never sees need not be
    transformed; with 3 of a 30 s excerpt's 10 patches this is 7 in 10 of the spectrogram saved.
    """
    frames = _frames(wave)
    count = len(frames) // PATCH_FRAMES
    keep = patch_picks(count, max_patches) if count else None
    if keep is None:
        return to_patches(_log_mel_of(frames, mel_basis))
    rows = np.concatenate([np.arange(i * PATCH_FRAMES, (i + 1) * PATCH_FRAMES) for i in keep])
    return _log_mel_of(frames[rows], mel_basis).reshape(len(keep), PATCH_FRAMES, -1)


def to_patches(logmel: np.ndarray) -> np.ndarray:
    """(T, 96) -> (P, 187, 96): non-overlapping patches from frame 0; short inputs repeat-padded to one patch."""
    frames = logmel.shape[0]
    if frames < PATCH_FRAMES:
        reps = math.ceil(PATCH_FRAMES / frames)
        return np.tile(logmel, (reps, 1))[:PATCH_FRAMES][None]
    count = frames // PATCH_FRAMES
    return logmel[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, logmel.shape[1])


class OnnxMusicnnEmbedder:
    """MusiCNN-MSD on ONNX Runtime (CPU), `embed` as `MusicnnEmbedder.embed`; picklable (rebuilds its session)."""

    def __init__(
        self,
        graph: bytes,
        mel_basis: np.ndarray,
        threads: int = 0,
        patch_batch: int = 10,
        max_patches: int | None = ANALYSIS_PATCHES,
    ) -> None:
        self.max_patches = check_max_patches(max_patches)
        self.graph = graph
        self.mel_basis = np.ascontiguousarray(mel_basis, dtype=np.float32)
        self.threads = threads
        self.patch_batch = patch_batch
        self.device = type("RuntimeDevice", (), {"type": "cpu"})()
        self._session: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None, "device": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.device = type("RuntimeDevice", (), {"type": "cpu"})()

    def set_threads(self, threads: int) -> None:
        self.threads, self._session = int(threads), None

    def _run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            if self.threads > 0:
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(self.graph, sess_options=options, providers=["CPUExecutionProvider"])
        outs = [
            self._session.run(None, {"patches": chunk})
            for chunk in np.array_split(patches, max(1, math.ceil(len(patches) / self.patch_batch)))
        ]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    def patches(self, wave: np.ndarray, index: int = 0) -> np.ndarray:
        """(P, 187, 96) log-mel patches of one 16 kHz waveform: the evenly spaced `max_patches` of them."""
        return picked_patches(check_wave(wave, index), self.mel_basis, self.max_patches)

    def embed(self, waves16k: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        waves = list(waves16k) if not isinstance(waves16k, np.ndarray) or waves16k.ndim == 2 else [waves16k]
        if not waves:
            raise ValueError("no waveforms to embed")
        per_wave = [self.patches(w, i) for i, w in enumerate(waves)]
        emb, tags = self._run(np.ascontiguousarray(np.concatenate(per_wave), dtype=np.float32))
        counts = np.cumsum([len(p) for p in per_wave])[:-1]
        return (
            np.stack([e.mean(axis=0) for e in np.split(emb, counts)]).astype(np.float32),
            np.stack([t.mean(axis=0) for t in np.split(tags, counts)]).astype(np.float32),
        )


def weights_hash(weights: Path) -> str:
    return file_hash(weights)


def load_onnx_musicnn(
    weights: str | Path | None = None, threads: int | None = None, max_patches: int | None = ANALYSIS_PATCHES
) -> OnnxMusicnnEmbedder:
    """The shipped MusiCNN graph beside `weights` (default: the shipped safetensors), by default on the app's
    analysis patches (None: every patch); raises MusicnnUnavailable."""
    from core.resources import resource_path

    path = Path(weights) if weights is not None else resource_path("models", "musicnn_msd", "musicnn_msd.safetensors")
    graph, basis = path.parent / ONNX_NAME, path.parent / MEL_BASIS_NAME
    if not graph.is_file() or not basis.is_file():
        raise MusicnnUnavailable(f"no {ONNX_NAME} beside {path}: run scripts/export_onnx.py")
    blob = graph.read_bytes()
    import onnxruntime as ort

    meta = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    if path.is_file() and meta.get("source_hash") != weights_hash(path):
        raise MusicnnUnavailable(f"{graph} was exported from other weights: re-run scripts/export_onnx.py")
    from core.runtime import default_threads

    return OnnxMusicnnEmbedder(blob, np.load(basis), default_threads() if threads is None else threads, 10, max_patches)
