"""Everything the model and the explorer need from one audio file, computed from one decoded excerpt.

`extract_track_features` is the single entry point used by the library indexer, the training feature cache and
the benchmark, so all of them analyse exactly the same window with exactly the same code.

The MusiCNN-MSD embedding and tags are computed here too (on the CPU, one excerpt at a time) unless the caller
batches them on a GPU later: then it keeps the 16 kHz excerpt and calls `apply_musicnn` with the result. Either
way `apply_musicnn` decides the genre: the file's tag genres when they name any, else genres inferred from audio
(`genre_inferred` says which).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.audio import AudioDecodeError, load_excerpt
from core.features.genre import genre_vector
from core.features.genre_infer import resolve_genres
from core.features.interpretive import all_descriptors
from core.features.mel_numpy import melon_mel
from core.features.musicnn_tags import EMBED_DIM as MUSICNN_EMBED_DIM
from core.features.musicnn_tags import N_TAGS as MUSICNN_TAGS
from core.metadata import read_tags

# Bump whenever any stored feature would change for the same file (cache entries are keyed on it). The major
# number changes when existing features are computed differently (models trained on the old ones no longer fit);
# 1.1 added the MusiCNN-MSD vector and genres inferred from it for untagged files; 1.2 runs MusiCNN on 3 evenly
# spaced patches of the excerpt (musicnn_tags.ANALYSIS_PATCHES; the mean vector's cosine to 1.1's is ~0.98, so
# models trained on 1.1 still load).
EXTRACTOR_VERSION = "1.2"
MUSICNN_DIM = MUSICNN_EMBED_DIM + MUSICNN_TAGS  # 250: the 200-d embedding, then the 50 tag activations

ANALYSIS_RATE = 16000
MUQ_RATE = 24000  # = core.features.muq_embed.SAMPLE_RATE; not imported from there, which would import torch

if TYPE_CHECKING:
    from core.features.muq_embed import MuQEmbedder
_ARRAYS = ("mel", "lowlevel", "interpretive", "muq", "genre", "musicnn")
_MUSICNN: list[Any] = []  # this process's CPU MusiCNN, loaded on first use


@dataclass
class TrackFeatures:
    """Features of one track: `duration` is the whole track's, the arrays describe the excerpt at `excerpt_start`."""

    path: str
    duration: float
    excerpt_start: float
    mel: np.ndarray | None  # (48, T) float32
    lowlevel: np.ndarray  # (8,) float32
    interpretive: np.ndarray  # (D,) float32
    muq: np.ndarray | None  # (1024,) float32
    genre: np.ndarray  # (len(GENRES),) float32 multi-hot: tag genres, else inferred from audio (genre_inferred)
    tags: dict[str, Any] = field(default_factory=dict)
    musicnn: np.ndarray | None = None  # (250,) float32 MusiCNN-MSD: 200-d embedding mean, then 50 tag activations
    genre_inferred: bool = False  # True when `genre` came from the audio (the tags named no genre)
    timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)  # seconds per stage
    # CPU seconds per stage of the process that extracted it (decode and resample apart; the worker adds its own
    # stages): what bench/index.py sums, since wall time on a shared machine says little
    cpu_timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    audio24k: np.ndarray | None = field(
        default=None, compare=False, repr=False
    )  # only with keep_audio24k; never stored
    audio16k: np.ndarray | None = field(
        default=None, compare=False, repr=False
    )  # only with keep_audio16k; never stored

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no pickling needed): absent optional features are simply left out."""
        out = {
            name: np.asarray(getattr(self, name), dtype=np.float32)
            for name in _ARRAYS
            if getattr(self, name) is not None
        }
        out["path"] = np.array(self.path)
        out["duration"] = np.float64(self.duration)
        out["excerpt_start"] = np.float64(self.excerpt_start)
        out["tags_json"] = np.array(json.dumps(self.tags, ensure_ascii=False, default=str))
        out["genre_inferred"] = np.bool_(self.genre_inferred)
        out["extractor_version"] = np.array(EXTRACTOR_VERSION)
        return out

    @classmethod
    def from_arrays(cls, data: Any) -> TrackFeatures:
        keys = set(data.keys()) if hasattr(data, "keys") else set(data.files)

        def arr(name: str) -> np.ndarray | None:
            return np.asarray(data[name], dtype=np.float32) if name in keys else None

        return cls(
            path=str(data["path"][()]) if "path" in keys else "",
            duration=float(data["duration"]),
            excerpt_start=float(data["excerpt_start"]),
            mel=arr("mel"),
            lowlevel=arr("lowlevel"),
            interpretive=arr("interpretive"),
            muq=arr("muq"),
            genre=arr("genre"),
            tags=json.loads(str(data["tags_json"][()])) if "tags_json" in keys else {},
            musicnn=arr("musicnn"),
            genre_inferred=bool(data["genre_inferred"]) if "genre_inferred" in keys else False,
        )

    def to_npz(self, path: str | PathLike[str]) -> None:
        np.savez(path, **self.to_arrays())

    @classmethod
    def from_npz(cls, path: str | PathLike[str]) -> TrackFeatures:
        with np.load(path, allow_pickle=False) as data:
            return cls.from_arrays(data)


MODEL_INPUT_FIELDS = ("mel", "lowlevel", "interpretive", "genre", "muq", "musicnn")
_OPTIONAL_INPUTS = ("muq", "musicnn")  # pretrained embeddings: passed only when every track has one


def stack_model_inputs(rows: Sequence[Mapping[str, Any]], with_genre: bool = True) -> dict[str, Any]:
    """The keyword arguments `EmotionModel.predict` takes, stacked from per-track mappings of MODEL_INPUT_FIELDS
    (a library's stored inputs, or `model_inputs`' features): one place that knows which feature feeds which
    input. A pretrained embedding is included when every track has it; `with_genre=False` leaves the genre out for
    callers that pass their own (the audio-only protocol's inferred genres). Unused inputs are ignored by the
    model, so every caller passes everything it has."""
    inputs: dict[str, Any] = {
        "mel": [r["mel"] for r in rows],
        "lowlevel": np.stack([r["lowlevel"] for r in rows]),
        "interpretive": np.stack([r["interpretive"] for r in rows]),
    }
    if with_genre:
        inputs["genre"] = np.stack([r["genre"] for r in rows])
    for name in _OPTIONAL_INPUTS:
        if rows and all(r.get(name) is not None for r in rows):
            inputs[name] = np.stack([r[name] for r in rows])
    return inputs


def model_inputs(feats: Sequence[TrackFeatures], with_genre: bool = True) -> dict[str, Any]:
    """`stack_model_inputs` for TrackFeatures."""
    return stack_model_inputs([{k: getattr(f, k) for k in MODEL_INPUT_FIELDS} for f in feats], with_genre)


class _StageClock:
    """Wall and CPU seconds of consecutive stages: `lap(name)` closes the stage that ran since the last lap."""

    def __init__(self, wall: dict[str, float], cpu: dict[str, float]) -> None:
        self.wall, self.cpu = wall, cpu
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[name] = wall - self._wall0
        self.cpu[name] = cpu - self._cpu0
        self._wall0, self._cpu0 = wall, cpu


def default_musicnn() -> Any:
    """This process's CPU MusiCNN-MSD (loaded once; indexing workers and the feature cache share this path)."""
    if not _MUSICNN:
        from core.runtime import load_musicnn_embedder

        _MUSICNN.append(load_musicnn_embedder("cpu"))
    return _MUSICNN[0]


def musicnn_vectors(embedder: Any, waves16k: list[np.ndarray]) -> np.ndarray:
    """(N, 250) float32: each excerpt's MusiCNN embedding (200) then tag activations (50), means over 3 s patches."""
    emb, tags = embedder.embed(waves16k)
    return np.concatenate([emb, tags], axis=1).astype(np.float32)


def apply_musicnn(feats: TrackFeatures, vector: np.ndarray) -> None:
    """Attach a (250,) MusiCNN vector and settle the genre: tag genres win, else the genres inferred from it."""
    vec = np.asarray(vector, dtype=np.float32).reshape(-1)
    if vec.shape != (MUSICNN_DIM,):
        raise ValueError(f"MusiCNN vector must have {MUSICNN_DIM} values, got {vec.shape}")
    feats.musicnn = vec
    genres, feats.genre_inferred = resolve_genres(feats.tags.get("genre"), vec[MUSICNN_EMBED_DIM:])
    feats.genre = genre_vector(genres)


def extract_track_features(
    path: str | PathLike[str],
    *,
    muq: MuQEmbedder | None = None,
    tags: dict | None = None,
    compute_mel: bool = True,
    excerpt_length: float = 30.0,
    keep_audio24k: bool = False,
    musicnn: Any = None,
    compute_musicnn: bool = True,
    keep_audio16k: bool = False,
) -> TrackFeatures:
    """Decode the excerpt once (16 kHz, plus 24 kHz for MuQ) and compute every feature from it.

    `tags` (from `core.metadata.read_tags` or the library's own tag reader) are read here when not given; the
    genre vector comes from their "genre" value, or from the audio when they name none. `keep_audio24k` returns
    the 24 kHz excerpt in `.audio24k` so a caller can run MuQ later, batched across tracks on a GPU;
    `keep_audio16k` likewise skips MusiCNN here and returns the 16 kHz excerpt in `.audio16k` for a batched
    `apply_musicnn`. MusiCNN runs on `musicnn` (a MusicnnEmbedder) or this process's CPU one, unless
    `compute_musicnn` is False. Raises `AudioDecodeError` for undecodable files.
    """
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    clock = _StageClock(timings, cpu)
    if tags is None:
        tags = read_tags(path)
    clock.lap("tags")

    rates = (ANALYSIS_RATE, MUQ_RATE) if (muq is not None or keep_audio24k) else (ANALYSIS_RATE,)
    excerpt = load_excerpt(path, rates=rates, length=excerpt_length)
    wave16 = excerpt.audio[ANALYSIS_RATE]
    if wave16.size < ANALYSIS_RATE // 10:
        raise AudioDecodeError(path, f"only {wave16.size} samples decoded: too short to analyse")
    clock.lap("decode")
    cpu.update(excerpt.cpu)  # decode and resample apart

    mel = melon_mel(wave16) if compute_mel else None
    clock.lap("mel")

    lowlevel, interpretive = all_descriptors(wave16)  # one shared STFT for both sets
    clock.lap("descriptors")

    emb = muq.embed([excerpt.audio[MUQ_RATE]])[0] if muq is not None else None
    clock.lap("muq")

    run_musicnn = compute_musicnn and not keep_audio16k
    musicnn_vec = musicnn_vectors(musicnn or default_musicnn(), [wave16])[0] if run_musicnn else None
    clock.lap("musicnn")

    feats = TrackFeatures(
        path=str(Path(path)),
        duration=float(excerpt.track_duration),
        excerpt_start=float(excerpt.start),
        mel=None if mel is None else np.asarray(mel, dtype=np.float32),
        lowlevel=np.asarray(lowlevel, dtype=np.float32),
        interpretive=np.asarray(interpretive, dtype=np.float32),
        muq=emb,
        genre=genre_vector(tags.get("genre")),
        tags=dict(tags),
        timings=timings,
        cpu_timings=cpu,
        audio24k=excerpt.audio.get(MUQ_RATE) if keep_audio24k else None,
        audio16k=wave16 if keep_audio16k else None,
    )
    if musicnn_vec is not None:
        apply_musicnn(feats, musicnn_vec)
    return feats
