"""The CPU half of GPU-bound indexing: what each decoder process does for explorer.library.gpu_pipeline.

`decode` reads one file's tags and its analysed excerpt at 16 kHz (and 24 kHz, for MuQ) and nothing else; every
feature is computed later, batched on the GPU. Its failures are reported exactly as `worker.extract` reports them.
The waveforms travel back through a spool folder (`spool_dir`, in /dev/shm when it exists) as raw float32 files.
Split from gpu_pipeline so that module keeps one job (the GPU stages and their scheduling); gpu_pipeline
re-exports these names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.audio import AudioDecodeError, load_excerpt
from core.features.spectral import FeatureInputError, as_wave
from core.features.track import ANALYSIS_RATE
from explorer.library import worker as _worker
from explorer.library.failures import PERMANENT, TRANSIENT, FileTimeLimit, classify
from explorer.library.worker import WorkResult, opened_track, time_limit

MUQ_RATE = 24000


@dataclass
class Decoded(WorkResult):
    """A worker's decode: the excerpt's waveforms (features come later, on the GPU).

    With a spool folder the waveforms travel as one raw float32 file (16 kHz samples, then 24 kHz) instead of
    through the result pipe: 4.8 MB a track pickled through a pipe at 100 tracks/s kept the main process's
    threads fighting over the GIL, while a file in /dev/shm is written and read with one system call each."""

    audio16k: np.ndarray | None = None
    duration: float = 0.0
    excerpt_start: float = 0.0
    decode_s: float = 0.0
    spool: str | None = None  # raw float32 file holding audio16k then audio24k
    n16: int = 0
    n24: int = 0

    def load_waves(self, out16: np.ndarray | None = None, out24: np.ndarray | None = None) -> None:
        """Read spooled waveforms into `out16` / `out24` (views of a batch array) or new arrays; deletes the file."""
        if self.spool is None:
            if out16 is not None:
                out16[:] = self.audio16k
            if out24 is not None and self.audio24k is not None:
                out24[:] = self.audio24k
            return
        out16 = np.empty(self.n16, np.float32) if out16 is None else out16
        with open(self.spool, "rb", buffering=0) as fh:
            fh.readinto(memoryview(out16).cast("B"))
            if self.n24:
                out24 = np.empty(self.n24, np.float32) if out24 is None else out24
                fh.readinto(memoryview(out24).cast("B"))
        os.unlink(self.spool)
        self.spool = None
        self.audio16k = out16
        self.audio24k = out24 if self.n24 else None

    def discard(self) -> None:
        if self.spool is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.spool)
            self.spool = None


def spool_dir() -> str:
    """A private folder for decoded excerpts: in /dev/shm (memory) when it exists, else the temp folder. Folders
    left by a run that was killed (its process is gone) are removed first: /dev/shm is RAM."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            parts = name.split("-")
            if name.startswith("qfx-spool-") and len(parts) > 3 and parts[2].isdigit() and not _alive(int(parts[2])):
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"qfx-spool-{os.getpid()}-", dir=base)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def decode(track_id: int, path: bytes, want_audio24k: bool, spool: str | None = None) -> Decoded:
    """Tags + the analysed excerpt at 16 kHz (and 24 kHz for MuQ) of one file. Never raises: failures come back
    with their kind, exactly as `worker.extract` reports them (same time limit, same test hooks).

    `spool`: a folder where the waveforms are written (see `Decoded`) instead of being returned."""
    tags: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        with time_limit(track_id, _worker._TIME_LIMIT):
            with opened_track(path, tags) as (openable, refused):
                if refused:
                    return Decoded(track_id, tags, error=refused, error_kind=PERMANENT)
                rates = (ANALYSIS_RATE, MUQ_RATE) if want_audio24k else (ANALYSIS_RATE,)
                excerpt = load_excerpt(openable, rates=rates)
            wave16 = excerpt.audio[ANALYSIS_RATE]
            if wave16.size < ANALYSIS_RATE // 10:
                raise AudioDecodeError(path, f"only {wave16.size} samples decoded: too short to analyse")
            try:
                wave16 = as_wave(wave16)  # finite, 1-D float32: the GPU stage assumes validated input
            except FeatureInputError as exc:
                raise AudioDecodeError(path, f"unusable audio: {exc}") from exc
            return _decoded(track_id, tags, excerpt, wave16, spool, t0)
    except (Exception, MemoryError, FileTimeLimit) as exc:  # one bad file never stops the run
        kind, reason = classify(exc)
        if kind == PERMANENT and not os.path.isfile(path):  # it vanished or changed while being read
            kind = TRANSIENT
        return Decoded(track_id, tags, error=reason, error_kind=kind)


def _decoded(
    track_id: int, tags: dict[str, Any], excerpt: Any, wave16: np.ndarray, spool: str | None, t0: float
) -> Decoded:
    wave24 = excerpt.audio.get(MUQ_RATE)
    res = Decoded(
        track_id,
        tags,
        duration=float(excerpt.track_duration),
        excerpt_start=float(excerpt.start),
        n16=int(wave16.size),
        n24=0 if wave24 is None else int(wave24.size),
    )
    if spool is None:
        res.audio16k, res.audio24k = wave16, wave24
    else:
        res.spool = os.path.join(spool, f"{track_id}.f32")
        with open(res.spool, "wb", buffering=0) as fh:
            fh.write(memoryview(wave16).cast("B"))
            if wave24 is not None:
                fh.write(memoryview(np.ascontiguousarray(wave24, dtype=np.float32)).cast("B"))
    res.decode_s = time.perf_counter() - t0
    return res
