"""Checking a MuQ weights folder the user picks (run it off the GUI thread: tasks.run_task). Which model and MuQ
folder are active is decided in explorer.library.model_choice (no Qt), shared with About and every `qfx` command."""

from __future__ import annotations

import logging
from pathlib import Path

from explorer.library.model_choice import MUQ_LICENCE_NOTE, ModelChoiceError

log = logging.getLogger(__name__)


def check_muq(folder: str | Path) -> None:
    """Load MuQ weights from `folder` (seconds, 1.3 GB for the real model) and drop them: the indexer loads its own
    copy. Raises ModelChoiceError with a message for the user, licence note included."""
    from core.features.muq_embed import MuQUnavailable, load_muq_embedder

    try:
        embedder = load_muq_embedder(model_dir=str(folder), device="cpu")
        del embedder
    except MuQUnavailable as exc:
        raise ModelChoiceError(f"{exc}\n\n{MUQ_LICENCE_NOTE}") from exc
    except Exception as exc:
        log.exception("checking MuQ weights in %s failed", folder)
        raise ModelChoiceError(
            f"Could not load MuQ weights from {folder}: {type(exc).__name__}: {exc}\n\n{MUQ_LICENCE_NOTE}"
        ) from exc
