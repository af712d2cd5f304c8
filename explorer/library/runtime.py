"""What an indexing run runs with: the emotion model and MuQ resolved from what the caller gave, and the threads the
model may use next to the workers."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from explorer.library.errors import LibraryError

log = logging.getLogger(__name__)


class IndexingError(LibraryError, RuntimeError):
    """The run cannot start (missing folder, model that needs MuQ without MuQ, ...)."""


def resolve_model(model: Any) -> Any:
    from core.checkpoint import CheckpointError
    from core.runtime import RuntimeUnavailable, load_emotion_model

    if model is False:  # features only, even when a shipped model is installed
        return None
    if model is None:
        try:
            return load_emotion_model()
        except (CheckpointError, RuntimeUnavailable) as exc:
            log.warning("indexing without emotions: %s", exc)
            return None
    if isinstance(model, (str, os.PathLike)):
        try:
            return load_emotion_model(model)
        except (CheckpointError, RuntimeUnavailable) as exc:
            raise IndexingError(f"cannot load the model: {exc}") from exc
    return model


def resolve_muq(muq: Any) -> Any:
    if muq is None or hasattr(muq, "embed"):
        return muq
    from core.features.muq_embed import MuQUnavailable, load_muq_embedder

    try:
        return load_muq_embedder(muq)
    except MuQUnavailable as exc:
        raise IndexingError(str(exc)) from exc


@contextlib.contextmanager
def torch_threads(model: Any, muq: Any, workers: int) -> Iterator[None]:
    """While the workers hold the cores, a CPU model gets only the cores they leave (at least one thread): with two
    OpenMP threads next to two busy workers on two cores the main process burnt ~25 % more CPU for the same work."""
    device = getattr(model, "device", None) or getattr(muq, "device", None)
    if (model is None and muq is None) or getattr(device, "type", "cpu") != "cpu" or "torch" not in sys.modules:
        yield  # nothing runs on torch's CPU threads here (no model, a GPU, or the ONNX runtime without torch)
        return
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(max(1, min(saved, (os.cpu_count() or 1) - workers)))
    try:
        yield
    finally:
        torch.set_num_threads(saved)


EXCERPT_SECONDS = 30.0  # core.features.track.extract_track_features' default excerpt
TIME_LIMIT_PER_EXCERPT_SECOND = 2.0  # a file's time limit: 60 s for the 30 s excerpt, whatever the file's length


def default_time_limit() -> float:
    """Seconds one file may take in a worker: $QFX_FILE_TIME_LIMIT when set, else proportional to the excerpt."""
    text = os.environ.get("QFX_FILE_TIME_LIMIT", "")
    try:
        return max(0.0, float(text)) if text else TIME_LIMIT_PER_EXCERPT_SECOND * EXCERPT_SECONDS
    except ValueError:
        return TIME_LIMIT_PER_EXCERPT_SECOND * EXCERPT_SECONDS
