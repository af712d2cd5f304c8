"""Checkpoints as `model.safetensors` + `config.json`: no pickle, so loading a model never runs code.

config.json layout (format_version 1):

    {"format": "quadfusion-checkpoint", "format_version": 1,
     "model": ModelConfig.to_dict(),
     "tags": [...12 tag names...], "genres": [...genre vocabulary...],
     "normalization": {"lowlevel": {"mean": [8], "std": [8]}, "mel": {"mean": float, "std": float},
                       "muq": {"mean": [1024], "std": [1024]}},      # one entry per active branch except genre
     "extractor_version": "<core.features.track.EXTRACTOR_VERSION>",
     "pretrained": "musicnn" | "muq" | null,   # which embedding the fourth branch takes (= model.pretrained)
     "training": {...free-form...}, "metrics": {...free-form...},
     "inference": {"members": ["members/fold1", ...], "tta_crops": 5, "tta_frames": 938}}   # optional

mel statistics may also be per band (lists of n_mels numbers); any entry may carry "clip" (z-scores are clipped to
+-clip after standardisation). The optional "inference" block makes the folder an ensemble: the folder's own model
plus each member folder (itself a complete checkpoint) vote by averaging softmax outputs, optionally over
`tta_crops` evenly spaced `tta_frames`-frame mel crops; embeddings come from the folder's own model only
(core.inference.EmotionModel). Readers that ignore "inference" still get a valid single model.

Loading checks everything that would otherwise fail later or silently give wrong answers and raises
`CheckpointError` with one clear message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported only to save or load weights: reading config.json works without it
    import torch

    from core.model import ModelConfig, QuadFusionNet

FORMAT = "quadfusion-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
REQUIRED_META = ("tags", "genres", "normalization", "extractor_version")
_UNSET: Any = object()

# Upper bounds for every size a config.json can ask for, checked before anything is allocated: a hostile or broken
# config (n_quadrants = 2.5e7 took 7 GB before failing; tta_crops = 1e9 ran on at 8.8 GB) is refused at once.
MODEL_SIZE_LIMITS = {
    "n_genres": 4096,
    "n_lowlevel": 4096,
    "muq_dim": 8192,
    "n_mels": 512,
    "n_tags": 1024,
    "n_quadrants": 64,
    "mel_frames": 65536,
}
INFERENCE_SIZE_LIMITS = {"tta_crops": 64, "tta_frames": 65536}
MAX_MEMBERS = 32
MAX_CONFIG_BYTES = 16 * 1024 * 1024


class CheckpointError(Exception):
    """A checkpoint is missing, damaged or incompatible with the running code."""


def _running_tags() -> list[str]:
    from core.emotions import TAGS

    return list(TAGS)


def _running_genres() -> list[str]:
    from core.features.genre import GENRES  # imported when needed: the genre table pulls in the audio stack

    return list(GENRES)


def _running_extractor_version() -> str:
    from core.features.track import EXTRACTOR_VERSION

    return str(EXTRACTOR_VERSION)


def check_running_code(
    doc: dict[str, Any], name: str, tags: Any = _UNSET, genres: Any = _UNSET, version: Any = _UNSET
) -> None:
    """Refuse a checkpoint (config.json contents `doc`, called `name` in errors) whose tag list, genre vocabulary or
    extractor version does not suit the running code; left unset each is the running code's, None skips that check.
    Torch-free: core.onnx_checkpoint runs the same checks."""
    tags = _running_tags() if tags is _UNSET else tags
    genres = _running_genres() if genres is _UNSET else genres
    version = _running_extractor_version() if version is _UNSET else version
    if tags is not None and list(doc["tags"]) != list(tags):
        raise CheckpointError(f"checkpoint tag list {doc['tags']} differs from this version's {list(tags)}")
    if genres is not None and list(doc["genres"]) != list(genres):
        raise CheckpointError(
            "checkpoint genre vocabulary differs from this version's; retrain or use a matching release"
        )
    if version is not None and not extractor_compatible(doc["extractor_version"], version):
        raise CheckpointError(
            f"{name} was trained on features of extractor version {doc['extractor_version']}, "
            f"this version computes {version}; re-extract features and retrain"
        )


def extractor_compatible(saved: str, running: str) -> bool:
    """Versions are "MAJOR[.MINOR...]"; a different MAJOR means features are computed differently."""
    return str(saved).split(".")[0] == str(running).split(".")[0]


def _norm_widths(config: ModelConfig) -> dict[str, int | None]:
    """Expected normalisation vector length per branch (None = one global scalar)."""
    widths: dict[str, int | None] = {"mel": None, "muq": config.muq_dim, "lowlevel": config.n_lowlevel}
    return {b: widths[b] for b in config.branches if b in widths}


def _check_normalization(norm: Any, config: ModelConfig) -> None:
    if not isinstance(norm, dict):
        raise CheckpointError("normalization must be a mapping of branch -> {mean, std}")
    for branch, width in _norm_widths(config).items():
        entry = norm.get(branch)
        if not isinstance(entry, dict) or "mean" not in entry or "std" not in entry:
            raise CheckpointError(f"normalization for branch {branch!r} needs 'mean' and 'std'")
        if branch == "mel" and isinstance(entry["mean"], list):  # per-band statistics
            width = config.n_mels
        for key in ("mean", "std"):
            value = entry[key]
            values = [value] if width is None else value
            if width is None and not isinstance(value, (int, float)):
                raise CheckpointError(f"normalization.{branch}.{key} must be a number")
            if width is not None and (not isinstance(value, list) or len(value) != width):
                raise CheckpointError(f"normalization.{branch}.{key} must be a list of {width} numbers")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                raise CheckpointError(f"normalization.{branch}.{key} holds non-finite values")
            if key == "std" and any(v <= 0 for v in values):
                raise CheckpointError(f"normalization.{branch}.std must be positive")
        clip = entry.get("clip")
        if clip is not None and (not isinstance(clip, (int, float)) or not math.isfinite(clip) or clip <= 0):
            raise CheckpointError(f"normalization.{branch}.clip must be a positive number")


def _check_model_sizes(model: Any, where: Any) -> None:
    """Every size in the "model" block is an int within MODEL_SIZE_LIMITS (None allowed where the model allows)."""
    if not isinstance(model, dict):
        return
    for key, limit in MODEL_SIZE_LIMITS.items():
        value = model.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
            raise CheckpointError(
                f"{where}: model.{key} = {value!r} is out of range (a whole number 1..{limit}); "
                "the checkpoint is damaged or not meant for this program"
            )


def _check_inference(spec: Any) -> None:
    """Optional "inference": {"members": [relative checkpoint dirs], "tta_crops": int, "tta_frames": int}."""
    if not isinstance(spec, dict):
        raise CheckpointError("'inference' must be a mapping")
    members = spec.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) and m for m in members):
        raise CheckpointError("inference.members must be a list of folder names")
    if len(members) > MAX_MEMBERS:
        raise CheckpointError(f"inference.members lists {len(members)} folders; at most {MAX_MEMBERS} are allowed")
    for m in members:
        parts = Path(m).parts
        if Path(m).is_absolute() or ".." in parts or not parts:
            raise CheckpointError(f"inference member {m!r} must be a folder inside the checkpoint")
    for key in ("tta_crops", "tta_frames"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise CheckpointError(f"inference.{key} must be a positive integer")
        if value is not None and value > INFERENCE_SIZE_LIMITS[key]:
            raise CheckpointError(f"inference.{key} = {value} is out of range (1..{INFERENCE_SIZE_LIMITS[key]})")


def _check_pretrained(doc: dict[str, Any], config: ModelConfig, directory: Path) -> None:
    """The top-level "pretrained" (absent in older checkpoints: MuQ for 4-branch ones) must match the model config."""
    if "pretrained" not in doc:
        return
    if doc["pretrained"] != config.pretrained_kind:
        raise CheckpointError(
            f"{directory / CONFIG_FILE}: 'pretrained' is {doc['pretrained']!r} but the model's "
            f"fourth branch takes {config.pretrained_kind!r}"
        )


def _check_heads(spec: dict[str, Any], config: ModelConfig) -> None:
    """An "inference.probe" reads the pretrained embedding, so its width must be the branch's; an
    "inference.tag_probe" reads it and the low-level descriptors."""
    from core.stacking import StackingError, check_probe

    if spec.get("probe"):
        if config.pretrained_kind is None:
            raise CheckpointError("inference.probe needs a model with a pretrained-embedding branch")
        try:
            check_probe(spec["probe"], int(config.muq_dim))
        except StackingError as exc:
            raise CheckpointError(str(exc)) from exc
    if spec.get("tag_probe"):
        if config.pretrained_kind is None or "lowlevel" not in config.branches:
            raise CheckpointError("inference.tag_probe needs a model with pretrained-embedding and low-level branches")
        try:  # features: the pretrained vector, then the low-level descriptors
            width = int(config.muq_dim) + int(config.n_lowlevel)
            check_probe(spec["tag_probe"], width, n_classes=int(config.n_tags), name="tag_probe")
        except StackingError as exc:
            raise CheckpointError(str(exc)) from exc
    arousal = spec.get("arousal")
    if arousal is not None and (
        not isinstance(arousal, dict) or any(k not in arousal for k in ("mean", "std", "weights", "bias"))
    ):
        raise CheckpointError("inference.arousal needs mean, std, weights and bias")


def _jsonable_normalization(norm: dict[str, Any]) -> dict[str, Any]:
    """Accept numpy arrays / tensors / floats and store plain JSON lists and numbers."""
    out: dict[str, Any] = {}
    for branch, entry in norm.items():
        out[branch] = {}
        for key, value in entry.items():
            if hasattr(value, "tolist"):
                value = value.tolist()
            out[branch][key] = value
    return out


def _jsonable(obj: Any) -> Any:
    """Free-form training info/metrics as strict JSON: numpy/torch values to Python, paths to str, NaN to null."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays/scalars, torch tensors
        return _jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def save_checkpoint(directory: str | Path, model: QuadFusionNet, config: ModelConfig, meta: dict[str, Any]) -> Path:
    """Write weights and config; `meta` needs tags, genres, normalization, extractor_version (+ training, metrics)."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint meta lacks {missing}")
    if model.config != config:
        raise CheckpointError("model was built from a different ModelConfig than the one given")
    if len(meta["tags"]) != config.n_tags:
        raise CheckpointError(f"{len(meta['tags'])} tags in meta but the model has {config.n_tags} outputs")
    if len(meta["genres"]) != config.n_genres:
        raise CheckpointError(f"{len(meta['genres'])} genres in meta but the model expects {config.n_genres}")
    from safetensors.torch import save_file

    norm = _jsonable_normalization(meta["normalization"])
    _check_normalization(norm, config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": config.to_dict(),
        "tags": list(meta["tags"]),
        "genres": list(meta["genres"]),
        "normalization": norm,
        "extractor_version": str(meta["extractor_version"]),
        "pretrained": config.pretrained_kind,
        "training": _jsonable(meta.get("training", {})),
        "metrics": _jsonable(meta.get("metrics", {})),
    }
    if meta.get("inference"):
        _check_inference(meta["inference"])
        doc["inference"] = _jsonable(meta["inference"])
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": FORMAT})
    (directory / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")
    return directory


def read_checkpoint_config(directory: str | Path) -> dict[str, Any]:
    """Parse and structurally validate config.json (no weights are read)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory not found: {directory}")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"checkpoint {directory} has no {CONFIG_FILE}")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise CheckpointError(
                f"{path} is {path.stat().st_size} bytes; a checkpoint config is at most {MAX_CONFIG_BYTES} bytes"
            )
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a QuadFusion checkpoint config")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {doc.get('format_version')!r}; this code reads {FORMAT_VERSION}"
        )
    missing = [k for k in ("model", *REQUIRED_META) if k not in doc]
    if missing:
        raise CheckpointError(f"{path} lacks required keys {missing}")
    for key in ("tags", "genres"):
        if not isinstance(doc[key], list) or not all(isinstance(x, str) for x in doc[key]):
            raise CheckpointError(f"{path}: '{key}' must be a list of names")
    if not isinstance(doc["model"], dict) or not isinstance(doc["extractor_version"], (str, int, float)):
        raise CheckpointError(f"{path}: 'model' must be a mapping and 'extractor_version' a version string")
    _check_model_sizes(doc["model"], path)
    for key in ("training", "metrics"):
        doc.setdefault(key, {})
    if "inference" in doc:
        _check_inference(doc["inference"])
    return doc


def load_checkpoint(
    directory: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    expected_tags: list[str] | None = _UNSET,
    expected_genres: list[str] | None = _UNSET,
    expected_extractor_version: str | None = _UNSET,
) -> tuple[QuadFusionNet, dict[str, Any]]:
    """Rebuild the model (eval mode) and return it with the config.json contents as `meta`.

    By default the tag list, genre vocabulary and extractor version are compared with the running code;
    pass None to skip a check (e.g. tools that only inspect old checkpoints).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from core.model import ModelConfig, QuadFusionNet

    directory = Path(directory)
    doc = read_checkpoint_config(directory)
    try:
        config = ModelConfig.from_dict(doc["model"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"invalid model config in {directory / CONFIG_FILE}: {exc}") from exc

    if len(doc["tags"]) != config.n_tags:
        raise CheckpointError(f"checkpoint lists {len(doc['tags'])} tags but its model has {config.n_tags} outputs")
    if len(doc["genres"]) != config.n_genres:
        raise CheckpointError(f"checkpoint lists {len(doc['genres'])} genres but its model expects {config.n_genres}")
    check_running_code(doc, "checkpoint", expected_tags, expected_genres, expected_extractor_version)
    _check_normalization(doc["normalization"], config)
    _check_pretrained(doc, config, directory)
    _check_heads(doc.get("inference") or {}, config)

    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {directory} has no {WEIGHTS_FILE}")
    model = QuadFusionNet(config)  # small: every size in config was bounded above
    expected = model.state_dict()
    most = sum(v.numel() * v.element_size() for v in expected.values()) * 2 + 1024 * 1024
    if weights.stat().st_size > most:  # never read a file far larger than the model it claims to hold
        raise CheckpointError(
            f"{weights} is {weights.stat().st_size} bytes, far more than the {most} bytes "
            "this config's model can need; the checkpoint is damaged"
        )
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{weights} is damaged or truncated: {exc}") from exc

    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"weights do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    wrong = [
        f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items() if state[k].shape != v.shape
    ]
    if wrong:
        raise CheckpointError(f"weight shapes do not match the config: {wrong[:5]}")
    model.load_state_dict(state)
    model.to(map_location)
    model.eval()
    meta = {k: v for k, v in doc.items() if k not in ("format", "format_version")}
    return model, meta
