"""On-disk cache of per-clip audio features, so training and evaluation reruns never decode audio again.

One `.npz` per clip, keyed by the SHA-1 of the file's bytes plus the feature extractor's version: renaming or
moving a file keeps its entry, editing it or changing the extractor invalidates it. Writes are atomic
(temp file + rename), so an interrupted run never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.progress import Cancelled, CancelToken, Progress, ProgressCallback

ARRAY_FIELDS = ("mel", "lowlevel", "interpretive", "muq", "genre", "musicnn")
SCALAR_FIELDS = ("duration", "excerpt_start")


class FeatureCacheError(Exception):
    """A clip's features could neither be read from the cache nor extracted."""


@dataclass
class CachedFeatures:
    """The audio-derived part of `core.features.track.TrackFeatures` (what the cache stores)."""

    mel: np.ndarray | None
    lowlevel: np.ndarray
    interpretive: np.ndarray | None
    muq: np.ndarray | None
    genre: np.ndarray | None
    duration: float
    excerpt_start: float
    musicnn: np.ndarray | None = None  # (250,) MusiCNN-MSD 200-d penultimate mean + 50 tag activations


def default_feature_cache_dir() -> Path:
    """`QFX_FEATURE_CACHE` or the per-user cache folder."""
    override = os.environ.get("QFX_FEATURE_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("quadfusion-explorer")) / "features"


def file_sha1(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _extractor_version() -> str:
    from core.features.track import EXTRACTOR_VERSION

    return str(EXTRACTOR_VERSION)


def _default_extract(path: Path, muq) -> CachedFeatures:
    from core.features.track import extract_track_features

    tf = extract_track_features(path, muq=muq)
    return CachedFeatures(
        mel=tf.mel,
        lowlevel=tf.lowlevel,
        interpretive=tf.interpretive,
        muq=tf.muq,
        genre=tf.genre,
        duration=float(tf.duration),
        excerpt_start=float(tf.excerpt_start),
        musicnn=getattr(tf, "musicnn", None),
    )


_MUSICNN: list = []  # the process's one MusiCNN embedder, loaded on first use


def musicnn_vector(wave16k: np.ndarray) -> np.ndarray:
    """(250,) = MusiCNN-MSD's 200-d penultimate embedding then its 50 tag activations, each averaged over 3 s
    patches of a 16 kHz waveform: the layout the model's pretrained branch and genre inference read."""
    if not _MUSICNN:
        from core.features.musicnn import load_musicnn

        _MUSICNN.append(load_musicnn())
    emb, tags = _MUSICNN[0].embed([np.asarray(wave16k, dtype=np.float32)])
    return np.concatenate([emb[0], tags[0]]).astype(np.float32)


def musicnn_features(path: Path, excerpt_start: float | None = None) -> np.ndarray:
    """(250,) MusiCNN-MSD features (`musicnn_vector`) of the file's analysis excerpt (the 30 s the others use).

    Decodes the 16 kHz excerpt exactly as `core.features.track` does (`excerpt_start` is accepted for callers that
    know it, but the window is recomputed the same deterministic way, so both paths give identical numbers).
    """
    from core.audio import load_excerpt

    return musicnn_vector(load_excerpt(path, rates=(16000,)).audio[16000])


class FeatureCache:
    """`get(path)` returns cached features or extracts, stores and returns them."""

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        *,
        version: str | None = None,
        extract: Callable[[Path, object], CachedFeatures] | None = None,
        musicnn: Callable[[Path, float | None], np.ndarray] | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_feature_cache_dir()
        self.version = version if version is not None else _extractor_version()
        self._extract = extract or _default_extract
        self._musicnn = musicnn or musicnn_features

    def key(self, path: str | Path) -> str:
        safe_version = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in self.version)
        return f"{file_sha1(path)}-{safe_version}"

    def entry_path(self, path: str | Path) -> Path:
        key = self.key(path)
        return self.cache_dir / key[:2] / f"{key}.npz"

    def lookup(self, path: str | Path, *, need_muq: bool = False) -> CachedFeatures | None:
        """Cached features, or None when absent, unreadable, or lacking MuQ while MuQ is needed.

        An entry without MusiCNN features is still returned (`musicnn` None): `get` adds them on demand.
        """
        entry = self.entry_path(path)
        if not entry.exists():
            return None
        try:
            with np.load(entry, allow_pickle=False) as data:
                arrays = {name: (data[name] if name in data.files else None) for name in ARRAY_FIELDS}
                scalars = {name: float(data[name]) for name in SCALAR_FIELDS}
        except Exception:  # a corrupt entry is re-extracted, never fatal
            return None
        if arrays["lowlevel"] is None or (need_muq and arrays["muq"] is None):
            return None
        return CachedFeatures(**arrays, **scalars)

    def store(self, path: str | Path, features: CachedFeatures) -> Path:
        entry = self.entry_path(path)
        entry.parent.mkdir(parents=True, exist_ok=True)
        arrays = {n: getattr(features, n) for n in ARRAY_FIELDS}
        payload = {n: np.asarray(v, dtype=np.float32) for n, v in arrays.items() if v is not None}
        payload.update({n: np.float64(getattr(features, n)) for n in SCALAR_FIELDS})
        fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=entry.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **payload)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return entry

    def get(self, path: str | Path, *, muq=None, musicnn: bool = False) -> CachedFeatures:
        """`musicnn=True`: make sure the MusiCNN features are there (computed once and added to the entry)."""
        path = Path(path)
        if not path.exists():
            raise FeatureCacheError(f"{path}: file not found")
        features = self.lookup(path, need_muq=muq is not None)
        fresh = features is None
        try:
            if features is None:
                features = self._extract(path, muq)
            if musicnn and features.musicnn is None:
                features.musicnn = self._musicnn(path, None if fresh else features.excerpt_start)
                fresh = True
        except Exception as exc:
            raise FeatureCacheError(f"{path}: feature extraction failed: {exc}") from exc
        if fresh:
            self.store(path, features)
        return features

    def get_many(
        self,
        paths: Sequence[str | Path],
        *,
        muq=None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        show_bar: bool = False,
        musicnn: bool = False,
    ) -> list[CachedFeatures]:
        """Features for every path in order; extraction happens only for clips missing from the cache."""
        state = Progress(total=len(paths), stage="features")
        bar = None
        if show_bar:
            from tqdm import tqdm

            bar = tqdm(total=len(paths), desc="features", unit="clip")
        out: list[CachedFeatures] = []
        try:
            for path in paths:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
                state.current = str(path)
                out.append(self.get(path, muq=muq, musicnn=musicnn))
                state.done += 1
                if progress is not None:
                    progress(state)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return out
