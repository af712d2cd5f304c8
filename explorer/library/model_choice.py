"""Which emotion model and MuQ weights a run uses: the one place that decides, for the app, About and every command.

Precedence, per choice: a command-line option (`--model`, `--muq-dir`) over the environment (QFX_MODEL,
QFX_MUQ_DIR) over the folder saved in the app's Settings over the built-in model (resources/models/default) and no
MuQ. No Qt: the window passes its stored Settings values in, `qfx` passes its options, and both get the same answer.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.library.errors import LibraryError

log = logging.getLogger(__name__)

ENV_MODEL = "QFX_MODEL"
ENV_MUQ = "QFX_MUQ_DIR"
COMMAND_LINE = "command line"
SETTINGS = "settings"
BUILT_IN = "built-in"
NO_MUQ = "none"
MUQ_LICENCE_NOTE = (
    "MuQ weights are licensed CC-BY-NC 4.0 (non-commercial use only) and are not shipped with the "
    "explorer: download them yourself (OpenMuQ/MuQ-large-msd-iter) and choose the folder that holds "
    "config.json and model.safetensors."
)


class ModelChoiceError(LibraryError):
    """A folder cannot be used as an emotion model; the message is meant for the user."""


@dataclass(frozen=True)
class ActiveModel:
    """The model the next index run will use, where that choice came from, and its config.json (model card)."""

    path: str | None  # None = the built-in model
    source: str  # COMMAND_LINE, ENV_MODEL, SETTINGS or BUILT_IN
    muq_dir: str | None
    muq_source: str  # COMMAND_LINE, ENV_MUQ, SETTINGS or NO_MUQ
    meta: dict[str, Any] | None  # None when the folder holds no readable checkpoint

    @property
    def directory(self) -> Path:
        from core.inference import default_model_dir

        return Path(self.path) if self.path else default_model_dir()

    @property
    def branches(self) -> list[str]:
        return list(((self.meta or {}).get("model") or {}).get("branches") or [])

    @property
    def pretrained(self) -> str | None:
        """The pretrained embedding the model reads ("muq" or "musicnn"), None when it has no such branch."""
        from core.model import ModelConfig

        model = (self.meta or {}).get("model")
        return ModelConfig.from_dict(model).pretrained_kind if model else None  # meta was validated on reading

    @property
    def uses_muq(self) -> bool:
        return self.pretrained == "muq"

    @property
    def name(self) -> str:
        return BUILT_IN if self.path is None else Path(self.path).name

    def loader_args(self) -> tuple[str | None, str | None]:
        """(model, muq) for index_library. MuQ only when the model reads it or the command line asked for it: MuQ
        embeddings need every file decoded again, which a model without a MuQ branch would never use."""
        wanted = self.uses_muq or self.muq_source == COMMAND_LINE
        return self.path, (self.muq_dir if wanted else None)

    def label(self) -> str:
        """Status-bar text: 'Model: built-in · mel + genre + lowlevel'."""
        if self.meta is None:
            return "Model: none installed" if self.path is None else f"Model: {self.name} (unreadable)"
        text = f"Model: {self.name}"
        if self.source == ENV_MODEL:
            text += f" ({ENV_MODEL})"
        if self.branches:  # the pretrained branch is shown by what feeds it (MuQ or MusiCNN)
            text += " · " + " + ".join(self.pretrained if b == "muq" and self.pretrained else b for b in self.branches)
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


def read_model_meta(directory: str | Path) -> dict[str, Any] | None:
    """config.json of a checkpoint folder (no weights are read); None, with a log line, when it is unreadable."""
    from core.checkpoint import CheckpointError, read_checkpoint_config

    try:
        return read_checkpoint_config(directory)
    except CheckpointError as exc:
        log.warning("model config unreadable: %s", exc)
        return None


def _pick(given: str | os.PathLike[str] | None, env_var: str, stored: str | None, unset: str) -> tuple[str | None, str]:
    """(value, where it came from): the command line, else a non-empty environment variable, else the stored
    setting, else `unset`."""
    if given:
        return os.fspath(given), COMMAND_LINE
    if os.environ.get(env_var):
        return os.environ[env_var], env_var
    if stored:
        return stored, SETTINGS
    return None, unset


def active_model(
    stored_model: str | None = None,
    stored_muq: str | None = None,
    *,
    model: str | os.PathLike[str] | None = None,
    muq: str | os.PathLike[str] | None = None,
) -> ActiveModel:
    """Resolve the choice. `stored_*`: the Settings values (None = unset); `model` / `muq`: command-line options."""
    from core.inference import default_model_dir

    path, source = _pick(model, ENV_MODEL, stored_model, BUILT_IN)
    muq_dir, muq_source = _pick(muq, ENV_MUQ, stored_muq, NO_MUQ)
    meta = read_model_meta(Path(path) if path else default_model_dir())
    return ActiveModel(path, source, muq_dir, muq_source, meta)


def check_model(path: str | Path) -> Any:
    """Load `path` as an EmotionModel on the CPU (a checkpoint is small: this takes well under a second) and return
    it; every failure becomes ModelChoiceError with the reason, never a traceback."""
    from core.checkpoint import CheckpointError
    from core.inference import EmotionModel

    try:
        return EmotionModel.load(path, device="cpu")
    except CheckpointError as exc:
        raise ModelChoiceError(str(exc)) from exc
    except Exception as exc:  # a damaged file can surface as a torch or safetensors error
        log.exception("loading the model in %s failed", path)
        raise ModelChoiceError(f"{type(exc).__name__}: {exc}") from exc
