"""Training arrays: the features and labels of a labelled clip set, held as plain numpy arrays.

`FeatureArrays` is what train/evaluate/baselines consume. It is built once from the feature cache and can be
packed into a single compact `.npz` (mel quantised to uint8) so a training run elsewhere needs no audio at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from core.emotions import QUADRANTS

MEL_QUANT_LEVELS = 255


@dataclass
class FeatureArrays:
    song_ids: list[str]
    lowlevel: np.ndarray  # (N, 8)
    genre: np.ndarray  # (N, G)
    relevance: np.ndarray  # (N, 12) graded
    quadrant: np.ndarray  # (N,) int64 in 0..3
    mel: np.ndarray | None = None  # (N, 48, T) float32, right-padded with each clip's minimum
    mel_lengths: np.ndarray | None = None  # (N,) true frame counts
    muq: np.ndarray | None = None  # (N, 1024)
    interpretive: np.ndarray | None = None  # (N, D) hand-crafted descriptors (baselines only)
    musicnn: np.ndarray | None = None  # (N, 250) MusiCNN-MSD: 200-d penultimate mean + 50 tag activations
    # (N, G) genres inferred from the audio (MusiCNN tags -> core.features.genre_infer), never from labels: the
    # "audio only" evaluation protocol feeds these instead of `genre`, and training can mix them in
    genre_inferred: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.song_ids)

    def subset(self, index: Sequence[int] | np.ndarray) -> FeatureArrays:
        idx = np.asarray(index, dtype=np.int64)
        kwargs = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                kwargs[f.name] = None
            elif f.name == "song_ids":
                kwargs[f.name] = [value[i] for i in idx]
            else:
                kwargs[f.name] = value[idx]
        return FeatureArrays(**kwargs)

    @property
    def has_tags(self) -> np.ndarray:
        """Clips whose moods map to at least one tag (the ranking task uses only these)."""
        return self.relevance.sum(axis=1) > 0

    def pretrained(self, kind: str) -> np.ndarray | None:
        """The embedding the model's pretrained ("muq") branch takes: `muq` or `musicnn`
        (core.model.PRETRAINED_DIMS)."""
        if kind not in ("muq", "musicnn"):
            raise ValueError(f"unknown pretrained embedding {kind!r}")
        return self.muq if kind == "muq" else self.musicnn

    def with_genres(self, protocol: str) -> FeatureArrays:
        """A view whose `genre` is the metadata genres ("metadata") or the audio-inferred ones ("audio")."""
        if protocol == "metadata":
            return self
        if protocol != "audio":
            raise ValueError(f"protocol must be 'metadata' or 'audio', got {protocol!r}")
        if self.genre_inferred is None:
            raise ValueError(
                "the audio-only protocol needs genres inferred from audio (MusiCNN tags); none are present"
            )
        return replace(self, genre=self.genre_inferred)

    def branch_inputs(self, pretrained: str = "muq") -> dict[str, np.ndarray]:
        items = (
            ("mel", self.mel),
            ("muq", self.pretrained(pretrained)),
            ("genre", self.genre),
            ("lowlevel", self.lowlevel),
        )
        return {k: v for k, v in items if v is not None}


def stack_mels(mels: Sequence[np.ndarray], frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, T) padded/cropped to `frames` (default: the longest) plus the true lengths."""
    lengths = np.array([m.shape[1] for m in mels], dtype=np.int64)
    t = int(frames or lengths.max())
    out = np.empty((len(mels), mels[0].shape[0], t), dtype=np.float32)
    for i, m in enumerate(mels):
        n = min(m.shape[1], t)
        out[i, :, :n] = m[:, :n]
        out[i, :, n:] = m.min() if m.size else 0.0
    return out, np.minimum(lengths, t)


def _stack_optional(values: list[np.ndarray | None]) -> np.ndarray | None:
    return np.stack(values).astype(np.float32) if values and all(v is not None for v in values) else None


def build_arrays(
    clips, cache, *, with_mel: bool = True, show_bar: bool = True, progress=None, musicnn: bool = False
) -> FeatureArrays:
    """Features for 4Q clips (audio features from `cache`, genres from the labels).

    `musicnn=True` makes the cache compute MusiCNN-MSD features where missing; genres inferred from its tags fill
    `genre_inferred` (the audio-only protocol).
    """
    paths = [c.audio_path for c in clips]
    feats = (
        cache.get_many(paths, show_bar=show_bar, progress=progress, musicnn=True)
        if musicnn
        else cache.get_many(paths, show_bar=show_bar, progress=progress)
    )
    mel = lengths = None
    if with_mel:
        mel, lengths = stack_mels([f.mel for f in feats])
    muq = _stack_optional([f.muq for f in feats])
    mnn = _stack_optional([getattr(f, "musicnn", None) for f in feats])
    return FeatureArrays(
        song_ids=[c.song_id for c in clips],
        lowlevel=np.stack([f.lowlevel for f in feats]).astype(np.float32),
        genre=np.stack([c.genre_vector() for c in clips]).astype(np.float32),
        relevance=np.stack([c.relevance for c in clips]).astype(np.float32),
        quadrant=np.array([c.quadrant_index for c in clips], dtype=np.int64),
        mel=mel,
        mel_lengths=lengths,
        muq=muq,
        interpretive=_stack_optional([f.interpretive for f in feats]),
        musicnn=mnn,
        genre_inferred=inferred_genres(mnn) if mnn is not None else None,
    )


def inferred_genres(musicnn: np.ndarray) -> np.ndarray:
    """(N, G) genre multi-hot inferred from the MusiCNN tag activations (the last 50 columns), never from labels."""
    from core.features.genre_infer import genre_vectors_from_tags

    return np.asarray(genre_vectors_from_tags(np.asarray(musicnn)[:, -50:]), dtype=np.float32)


def stratified_split(quadrant: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(keep, held_out) indices; `fraction` of each quadrant is held out, chosen by `seed`."""
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    held: list[int] = []
    for q in range(len(QUADRANTS)):
        idx = np.flatnonzero(quadrant == q)
        rng.shuffle(idx)
        n_held = int(round(fraction * len(idx)))
        held.extend(idx[:n_held].tolist())
        keep.extend(idx[n_held:].tolist())
    return np.sort(np.array(keep, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def stratified_folds(quadrant: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """(N,) fold id in 0..n_folds-1 per clip; each quadrant is dealt round-robin over the folds after a shuffle.

    Every clip is held out exactly once across the folds, so out-of-fold predictions cover the whole set.
    """
    if n_folds < 2:
        raise ValueError("n_folds must be >= 2")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(quadrant), dtype=np.int64)
    offset = 0
    for q in range(len(QUADRANTS)):
        idx = np.flatnonzero(quadrant == q)
        rng.shuffle(idx)
        fold[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)
    return fold


def save_packed(
    arrays: FeatureArrays,
    path: str | Path,
    *,
    splits: dict[str, np.ndarray] | None = None,
    levels: int = MEL_QUANT_LEVELS,
    xz: bool = False,
) -> Path:
    """One compressed npz; mel quantised to `levels` steps over each clip's own [min, max].

    255 levels keep the error below 0.2 % of a clip's range; fewer levels plus `xz` (LZMA over the mel bytes)
    make the pack small enough to ship to a training machine (127 levels: ~58 KB per 30 s clip).
    """
    if not 1 <= levels <= 255:
        raise ValueError("levels must be in 1..255")
    payload: dict[str, np.ndarray] = {
        "song_ids": np.array(arrays.song_ids),
        "lowlevel": arrays.lowlevel,
        "genre": arrays.genre,
        "relevance": arrays.relevance,
        "quadrant": arrays.quadrant,
    }
    if arrays.mel is not None:
        lo = arrays.mel.min(axis=(1, 2))
        hi = arrays.mel.max(axis=(1, 2))
        scale = np.where(hi > lo, hi - lo, 1.0)
        q = np.round((arrays.mel - lo[:, None, None]) / scale[:, None, None] * levels).astype(np.uint8)
        if xz:
            import lzma

            payload["mel_q_xz"] = np.frombuffer(lzma.compress(q.tobytes(), preset=6), dtype=np.uint8)
            payload["mel_shape"] = np.array(q.shape, dtype=np.int64)
        else:
            payload["mel_q"] = q
        payload.update(
            mel_lo=lo.astype(np.float32),
            mel_scale=scale.astype(np.float32),
            mel_lengths=arrays.mel_lengths,
            mel_levels=np.int64(levels),
        )
    if arrays.muq is not None:
        payload["muq"] = arrays.muq
    for name in ("interpretive", "musicnn", "genre_inferred"):
        if getattr(arrays, name) is not None:
            payload[name] = getattr(arrays, name)
    for name, value in (splits or {}).items():
        payload[f"split_{name}"] = np.asarray(value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **payload)
    return path


def load_packed(path: str | Path) -> tuple[FeatureArrays, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        mel = lengths = None
        if "mel_q" in data.files or "mel_q_xz" in data.files:
            if "mel_q_xz" in data.files:
                import lzma

                q = np.frombuffer(lzma.decompress(data["mel_q_xz"].tobytes()), dtype=np.uint8).reshape(
                    data["mel_shape"]
                )
            else:
                q = data["mel_q"]
            levels = int(data["mel_levels"]) if "mel_levels" in data.files else MEL_QUANT_LEVELS
            mel = q.astype(np.float32) / levels
            mel = mel * data["mel_scale"][:, None, None] + data["mel_lo"][:, None, None]
            lengths = data["mel_lengths"]
        arrays = FeatureArrays(
            song_ids=[str(s) for s in data["song_ids"]],
            lowlevel=data["lowlevel"],
            genre=data["genre"],
            relevance=data["relevance"],
            quadrant=data["quadrant"],
            mel=mel,
            mel_lengths=lengths,
            muq=data["muq"] if "muq" in data.files else None,
            **{
                name: data[name] if name in data.files else None
                for name in ("interpretive", "musicnn", "genre_inferred")
            },
        )
        splits = {k[len("split_") :]: data[k] for k in data.files if k.startswith("split_")}
    return arrays, splits


__all__ = [
    "FeatureArrays",
    "build_arrays",
    "inferred_genres",
    "stack_mels",
    "stratified_split",
    "stratified_folds",
    "save_packed",
    "load_packed",
    "replace",
]
