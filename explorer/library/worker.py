"""What one worker process does for one file: tags, decode, features. Never raises: failures come back as data.

Runs in a separate process so a decoder that crashes (segfault) or leaks costs one file, not the indexing run.
Heavy imports happen at module level on purpose: the forkserver preloads this module once and forks workers
from it, so starting (or restarting after a crash) a worker costs milliseconds, not a torch import.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from core.audio import AudioDecodeError
from core.features import track as track_features
from explorer.library.tags import track_tags


@dataclass
class WorkResult:
    track_id: int
    tags: dict[str, Any]
    features: Any = None  # core.features.track.TrackFeatures on success
    audio24k: Optional[np.ndarray] = None  # the excerpt at 24 kHz when the main process runs MuQ
    audio16k: Optional[np.ndarray] = None  # the excerpt at 16 kHz when the main process runs MusiCNN (GPU)
    error: Optional[str] = None
    prediction: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None  # (tags, quadrants, embedding) of a worker model


_MODEL: Any = None  # the emotion model, when the workers run it (CPU indexing without MuQ)


def init_worker(model_blob: Optional[bytes] = None) -> None:
    """One compute thread per worker: the pool already uses every core. `model_blob` (a pickled EmotionModel)
    makes this worker run the model on each file it analyses."""
    global _MODEL
    try:
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    except (ImportError, RuntimeError):
        pass
    _MODEL = pickle.loads(model_blob) if model_blob else None


def _predict(feats: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    extra = {"musicnn": feats.musicnn[None]} if getattr(_MODEL, "uses_musicnn", False) else {}
    p = _MODEL.predict(mel=[feats.mel], lowlevel=feats.lowlevel[None], genre=feats.genre[None], **extra)
    return p.tag_scores[0], p.quadrant_probs[0], p.embeddings[0]


@contextlib.contextmanager
def _openable(path: bytes) -> Iterator[str]:
    """A str path every decoder library accepts: names that are not valid UTF-8 go through an ASCII symlink."""
    text = os.fsdecode(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        with tempfile.TemporaryDirectory(prefix="qfx-") as tmp:
            link = os.path.join(tmp, "track")
            os.symlink(path, os.fsencode(link))
            yield link
        return
    yield text


class _AudioCapture:
    """Stands in for the MuQ embedder inside a worker: keeps the 24 kHz excerpt that the extractor decoded for it,
    so MuQ can run batched on the GPU in the main process while the same decode serves every other feature."""

    def __init__(self) -> None:
        self.wave: Optional[np.ndarray] = None

    def embed(self, waves24k: Any, batch_size: int = 8) -> np.ndarray:
        self.wave = np.asarray(waves24k[0], dtype=np.float32)
        return np.zeros((len(waves24k), 1), dtype=np.float32)


def _features(path: str, tags: dict[str, Any], want_audio24k: bool, musicnn_here: bool) -> tuple[Any, Optional[np.ndarray]]:
    """MusiCNN runs here on the CPU unless `musicnn_here` is False (the main process batches it on the GPU)."""
    if not want_audio24k:
        return track_features.extract_track_features(path, tags=tags, keep_audio16k=not musicnn_here), None
    capture = _AudioCapture()
    feats = track_features.extract_track_features(path, tags=tags, muq=capture,  # type: ignore[arg-type]
                                                  keep_audio16k=not musicnn_here)
    feats.muq = None
    return feats, capture.wave


def extract(track_id: int, path: bytes, want_audio24k: bool, musicnn_here: bool = True) -> WorkResult:
    """Tags + features of one file; `want_audio24k` also returns the 24 kHz excerpt for MuQ in the main process,
    `musicnn_here=False` the 16 kHz one for MusiCNN there."""
    tags: dict[str, Any] = {}
    crash = os.environ.get("QFX_TEST_CRASH_PATTERN")  # test hook: simulate a decoder segfault on matching files
    if crash and crash.encode() in os.path.basename(path):
        os.kill(os.getpid(), signal.SIGSEGV)
    try:
        with _openable(path) as openable:
            tags = track_tags(openable, name=os.fsdecode(path))
            if os.path.getsize(openable) == 0:
                return WorkResult(track_id, tags, error="empty file")
            feats, audio = _features(openable, tags, want_audio24k, musicnn_here)
        feats.path = os.fsdecode(path)
        audio16k, feats.audio16k = feats.audio16k, None
        prediction = _predict(feats) if _MODEL is not None and not want_audio24k and musicnn_here else None
        return WorkResult(track_id, tags, features=feats, audio24k=audio, prediction=prediction, audio16k=audio16k)
    except AudioDecodeError as exc:
        return WorkResult(track_id, tags, error=str(getattr(exc, "reason", None) or exc))
    except MemoryError:
        return WorkResult(track_id, tags, error="out of memory while decoding")
    except Exception as exc:  # one bad file never stops the run: the reason is stored with the track
        return WorkResult(track_id, tags, error=f"{type(exc).__name__}: {exc}")
