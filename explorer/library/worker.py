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
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.features import track as track_features
from explorer.library.failures import MODEL, NOT_REGULAR_REASON, PERMANENT, TRANSIENT, FileTimeLimit, classify
from explorer.library.lifeline import die_with_parent, watch_process
from explorer.library.tags import track_tags


def hard_limit_grace(seconds: float) -> float:
    """Seconds past the soft limit before a worker stuck outside Python kills itself."""
    return max(5.0, seconds / 4)


@dataclass
class WorkResult:
    track_id: int
    tags: dict[str, Any]
    features: Any = None  # core.features.track.TrackFeatures on success
    audio24k: np.ndarray | None = None  # the excerpt at 24 kHz when the main process runs MuQ
    audio16k: np.ndarray | None = None  # the excerpt at 16 kHz when the main process runs MusiCNN (GPU)
    error: str | None = None
    error_kind: str | None = None  # explorer.library.failures kind when error is set (or a model error)
    model_error: str | None = None  # features are fine, the worker's model failed on them
    # (tags, quadrants, embedding) when the worker ran the model
    prediction: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


_MODEL: Any = None  # the emotion model, when the workers run it (CPU indexing without MuQ)
_TIME_LIMIT: float = 0.0  # seconds per file; 0 = none
_MARKER_DIR: str | None = None


def init_worker(
    model_blob: bytes | None = None,
    parent_pid: int | None = None,
    time_limit: float = 0.0,
    marker_dir: str | None = None,
) -> None:
    """One compute thread per worker: the pool already uses every core. `model_blob` (a pickled EmotionModel)
    makes this worker run the model on each file it analyses. The worker ends with `parent_pid` (the indexer),
    ignores Ctrl-C (the indexer decides what to keep: SIGINT reaches the whole process group) and gives each file
    `time_limit` seconds."""
    global _MODEL, _TIME_LIMIT, _MARKER_DIR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if parent_pid:
        watch_process(parent_pid)
    _TIME_LIMIT, _MARKER_DIR = float(time_limit or 0.0), marker_dir
    _MODEL = pickle.loads(model_blob) if model_blob else None
    if hasattr(_MODEL, "set_threads"):  # the ONNX Runtime model: one session thread per worker
        _MODEL.set_threads(1)
    if "torch" in sys.modules:  # a torch model (or MuQ code) is loaded: one torch thread too; never import it here
        import torch

        with contextlib.suppress(RuntimeError):  # interop threads can only be set before torch's first parallel op
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)


def _predict(feats: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _MODEL.predict(**track_features.model_inputs([feats]))
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
        self.wave: np.ndarray | None = None

    def embed(self, waves24k: Any, batch_size: int = 8) -> np.ndarray:
        self.wave = np.asarray(waves24k[0], dtype=np.float32)
        return np.zeros((len(waves24k), 1), dtype=np.float32)


def _features(
    path: str, tags: dict[str, Any], want_audio24k: bool, musicnn_here: bool, with_mel: bool = True
) -> tuple[Any, np.ndarray | None]:
    """MusiCNN runs here on the CPU unless `musicnn_here` is False (the main process batches it on the GPU); the mel
    only when `with_mel` (the model reads it or the library keeps mels)."""
    if not want_audio24k:
        feats = track_features.extract_track_features(
            path, tags=tags, keep_audio16k=not musicnn_here, compute_mel=with_mel
        )
        return feats, None
    capture = _AudioCapture()
    feats = track_features.extract_track_features(
        path,
        tags=tags,
        muq=capture,  # type: ignore[arg-type]
        keep_audio16k=not musicnn_here,
        compute_mel=with_mel,
    )
    feats.muq = None
    return feats, capture.wave


@contextlib.contextmanager
def time_limit(track_id: int, seconds: float) -> Iterator[None]:
    """Raise FileTimeLimit after `seconds` (SIGALRM: also interrupts a blocking open or read). Code that never
    returns to Python (a decoder stuck in C) cannot be interrupted: after a grace period the worker notes the file
    in the marker folder and kills itself, and the indexer records a time-out for it."""
    if seconds <= 0:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise FileTimeLimit(f"gave up after {seconds:.0f} s")

    def stuck() -> None:
        if _MARKER_DIR:
            with contextlib.suppress(OSError), open(os.path.join(_MARKER_DIR, str(track_id)), "w") as fh:
                fh.write(f"{seconds:.0f}")
        os.kill(os.getpid(), signal.SIGKILL)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    backstop = threading.Timer(seconds + hard_limit_grace(seconds), stuck)
    backstop.daemon = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    backstop.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        backstop.cancel()
        signal.signal(signal.SIGALRM, previous)


def _test_hooks(path: bytes) -> None:
    """Test hooks: simulate a decoder segfault, or a decoder stuck in Python or in C (signals blocked)."""
    for env, action in (
        ("QFX_TEST_CRASH_PATTERN", "crash"),
        ("QFX_TEST_HANG_PATTERN", "hang"),
        ("QFX_TEST_STUCK_PATTERN", "stuck"),
    ):
        pattern = os.environ.get(env)
        if pattern and pattern.encode() in os.path.basename(path):
            if action == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            if action == "stuck":
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            import time

            time.sleep(3600)


def _regular_file(path: str) -> str | None:
    """None when `path` is a regular file; checked without opening it (opening a FIFO blocks)."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # let the decoder report it with its reason
    return None if stat.S_ISREG(st.st_mode) else NOT_REGULAR_REASON


@contextlib.contextmanager
def opened_track(path: bytes, tags: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """What `extract` and gpu_decode.decode do first: the test hooks, then `path` as a decoder-safe name with its
    tags read into `tags`. Yields that name and None, or a permanent failure's reason (not a regular file, empty)."""
    _test_hooks(path)
    with _openable(path) as openable:
        not_regular = _regular_file(openable)
        if not_regular:
            yield openable, not_regular
            return
        tags.update(track_tags(openable, name=os.fsdecode(path)))
        yield openable, "empty file" if os.path.getsize(openable) == 0 else None


def extract(
    track_id: int, path: bytes, want_audio24k: bool, musicnn_here: bool = True, with_mel: bool = True
) -> WorkResult:
    """Tags + features of one file; `want_audio24k` also returns the 24 kHz excerpt for MuQ in the main process,
    `musicnn_here=False` the 16 kHz one for MusiCNN there (batched on the GPU). `with_mel=False` skips the mel
    when nothing reads it (the model has no mel branch and the library does not keep mels).

    Never raises: failures come back with a kind (explorer.library.failures) that decides when to retry."""
    tags: dict[str, Any] = {}
    try:
        with time_limit(track_id, _TIME_LIMIT):
            cpu0 = time.process_time()
            with opened_track(path, tags) as (openable, refused):
                if refused:
                    return WorkResult(track_id, tags, error=refused, error_kind=PERMANENT)
                tags_cpu = time.process_time() - cpu0  # this file's tags, read by opened_track
                feats, audio = _features(openable, tags, want_audio24k, musicnn_here, with_mel)
            feats.path = os.fsdecode(path)
            feats.cpu_timings["tags"] = feats.cpu_timings.get("tags", 0.0) + tags_cpu
            audio16k, feats.audio16k = feats.audio16k, None
            result = WorkResult(track_id, tags, features=feats, audio24k=audio, audio16k=audio16k)
            if _MODEL is not None and not want_audio24k and musicnn_here:
                cpu0 = time.process_time()
                try:
                    result.prediction = _predict(feats)
                except (Exception, MemoryError) as exc:  # the model's fault, not the file's: features are kept
                    result.model_error, result.error_kind = f"{type(exc).__name__}: {exc}", MODEL
                feats.cpu_timings["model"] = time.process_time() - cpu0
            return result
    except (Exception, MemoryError, FileTimeLimit) as exc:  # one bad file never stops the run
        kind, reason = classify(exc)
        if kind == PERMANENT and not os.path.isfile(path):  # it vanished or changed while being read
            kind = TRANSIENT
        return WorkResult(track_id, tags, error=reason, error_kind=kind)
