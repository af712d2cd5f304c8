"""Which emotion model and MuQ weights the explorer uses, and checking a folder the user picks.

Precedence: QFX_MODEL / QFX_MUQ_DIR (environment) over the folders chosen in Settings over the built-in model
(resources/models/default) and no MuQ. The window resolves the choice on the GUI thread and hands the indexer
plain folder paths, so the worker thread never touches QSettings.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)
ENV_MODEL = "QFX_MODEL"
ENV_MUQ = "QFX_MUQ_DIR"
MUQ_LICENCE_NOTE = ("MuQ weights are licensed CC-BY-NC 4.0 (non-commercial use only) and are not shipped with the "
                    "explorer: download them yourself (OpenMuQ/MuQ-large-msd-iter) and choose the folder that holds "
                    "config.json and model.safetensors.")


class ModelChoiceError(Exception):
    """A folder cannot be used as an emotion model; the message is meant for the user."""


@dataclass(frozen=True)
class ActiveModel:
    """The model the next index run will use, where that choice came from, and its config.json (model card)."""

    path: Optional[str]  # None = the built-in model
    source: str  # "built-in", "settings" or ENV_MODEL
    muq_dir: Optional[str]
    muq_source: str  # "none", "settings" or ENV_MUQ
    meta: Optional[dict[str, Any]]  # None when the folder holds no readable checkpoint

    @property
    def directory(self) -> Path:
        from core.inference_base import default_model_dir

        return Path(self.path) if self.path else default_model_dir()

    @property
    def branches(self) -> list[str]:
        return list(((self.meta or {}).get("model") or {}).get("branches") or [])

    @property
    def uses_muq(self) -> bool:
        return "muq" in self.branches

    @property
    def name(self) -> str:
        return "built-in" if self.path is None else Path(self.path).name

    def loader_args(self) -> tuple[Optional[str], Optional[str]]:
        """(model, muq) for index_library. MuQ only when the model reads it: MuQ embeddings need every file decoded
        again, which a model without a MuQ branch would never use."""
        return self.path, (self.muq_dir if self.uses_muq else None)

    def label(self) -> str:
        """Status-bar text: 'Model: built-in · mel + genre + lowlevel'."""
        if self.meta is None:
            return "Model: none installed" if self.path is None else f"Model: {self.name} (unreadable)"
        text = f"Model: {self.name}"
        if self.source == ENV_MODEL:
            text += f" ({ENV_MODEL})"
        if self.branches:
            text += " · " + " + ".join(self.branches)
        return text

    def tooltip(self) -> str:
        lines = [f"Emotion model folder: {self.directory}", f"Chosen by: {self.source}"]
        dataset = ((self.meta or {}).get("training") or {}).get("dataset")
        if dataset:
            lines.append(f"Trained on: {dataset}")
        if self.uses_muq:
            lines.append(f"MuQ weights: {self.muq_dir or 'not set (Settings ▸ MuQ weights folder…)'}")
        elif self.muq_dir:
            lines.append(f"MuQ weights: {self.muq_dir} (not used by this model)")
        return "\n".join(lines)


def _read_meta(directory: Path) -> Optional[dict[str, Any]]:
    from core.checkpoint import CheckpointError, read_checkpoint_config

    try:
        return read_checkpoint_config(directory)
    except CheckpointError as exc:
        log.warning("model config unreadable: %s", exc)
        return None


def _resolve(env_var: str, stored: Optional[str], unset: str) -> tuple[Optional[str], str]:
    """(value, where it came from): a non-empty environment variable beats the stored setting, which beats `unset`."""
    if os.environ.get(env_var):
        return os.environ[env_var], env_var
    if stored:
        return stored, "settings"
    return None, unset


def active_model(model_dir: Optional[str], muq_dir: Optional[str]) -> ActiveModel:
    """Resolve the stored choices (`model_dir`, `muq_dir`; None = unset) against the environment."""
    from core.inference_base import default_model_dir

    path, source = _resolve(ENV_MODEL, model_dir, "built-in")
    muq, muq_source = _resolve(ENV_MUQ, muq_dir, "none")
    meta = _read_meta(Path(path) if path else default_model_dir())
    return ActiveModel(path, source, muq, muq_source, meta)


def check_model(path: str | Path) -> Any:
    """Load `path` as an EmotionModel on the CPU (a checkpoint is small: this takes well under a second) and return
    it; every failure becomes ModelChoiceError with the reason, never a traceback."""
    from core.checkpoint import CheckpointError
    from core.runtime import RuntimeUnavailable, load_emotion_model

    try:
        return load_emotion_model(path, device="cpu")
    except (CheckpointError, RuntimeUnavailable) as exc:
        raise ModelChoiceError(str(exc)) from exc
    except Exception as exc:  # a damaged file can surface as a torch or safetensors error
        log.exception("loading the model in %s failed", path)
        raise ModelChoiceError(f"{type(exc).__name__}: {exc}") from exc


class MuQCheck(QThread):
    """Loads MuQ weights from a folder on a worker thread (the real model takes seconds and 1.3 GB), then drops
    them: the indexer loads its own copy when it runs."""

    succeeded = Signal(str)  # the folder
    failed = Signal(str)  # a message for the user, licence note included

    def __init__(self, folder: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.folder = str(folder)

    def run(self) -> None:  # runs on the worker thread
        from core.features.muq_embed import MuQUnavailable, load_muq_embedder

        try:
            embedder = load_muq_embedder(model_dir=self.folder, device="cpu")
            del embedder
        except MuQUnavailable as exc:
            self.failed.emit(f"{exc}\n\n{MUQ_LICENCE_NOTE}")
        except Exception as exc:
            log.exception("checking MuQ weights in %s failed", self.folder)
            self.failed.emit(f"Could not load MuQ weights from {self.folder}: {type(exc).__name__}: {exc}\n\n"
                             f"{MUQ_LICENCE_NOTE}")
        else:
            self.succeeded.emit(self.folder)
