"""Block reads through libsndfile that step over a spot it cannot decode, instead of giving up on the file.

libsndfile (1.2.2, the one soundfile bundles) stops with "Supported file format but file is malformed" partway
through some Ogg Opus files that FFmpeg decodes without a single error: 23 of 51 low-bitrate Opus re-encodes of
full-length game soundtracks (libopus via FFmpeg) failed when read from the start, each at one spot (5 to 95 s in).
A fresh handle seeked a little past that spot reads on (measured: a failure at 9 s resumed at 10 s). Failing the whole
file would stop playback mid-track and lose the analysis of any excerpt that crosses the spot, so a read that fails
reopens the file, seeks forward in SKIP_STEP_SECONDS steps (at most MAX_SKIP_SECONDS), and returns the skipped
stretch as silence: positions and durations stay true. When nothing within reach reads, the original error is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

SKIP_STEP_SECONDS = 0.25
MAX_SKIP_SECONDS = 3.0
PROBE_SECONDS = 0.1  # what a resumed handle must read before it counts as past the spot


@dataclass
class SkipReport:
    """What a read stepped over: frames returned as silence, and how many spots."""

    frames: int = 0
    spots: int = 0


def _resume(path: str, pos: int, rate: int, total: int) -> tuple[sf.SoundFile, int, np.ndarray]:
    """A handle that reads past the spot after frame `pos`: (handle, frame it resumed at, the probe it read)."""
    step, probe = max(1, int(SKIP_STEP_SECONDS * rate)), max(1, int(PROBE_SECONDS * rate))
    for k in range(1, int(MAX_SKIP_SECONDS / SKIP_STEP_SECONDS) + 1):
        at = pos + k * step
        if total > 0 and at >= total:
            break
        fh = sf.SoundFile(path)
        try:
            fh.seek(at)
            data = fh.read(probe, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError):
            fh.close()
            continue
        return fh, at, data
    raise sf.LibsndfileError(0, prefix=f"no readable audio within {MAX_SKIP_SECONDS:g} s after frame {pos}: ")


def read_blocks(
    path: str, first: int, frames: int | None, block: int, report: SkipReport | None = None
) -> Iterator[np.ndarray]:
    """(n, channels) float32 blocks of `path` from frame `first`, `frames` in all (None: to the end).

    Raises soundfile.LibsndfileError when a spot cannot be stepped over (the caller's error path stays as it was).
    """
    fh = sf.SoundFile(path)
    rate, channels, total = int(fh.samplerate), int(fh.channels), int(fh.frames)
    pos, left = first, frames
    try:
        if first:
            fh.seek(first)
        while left is None or left > 0:
            n = block if left is None else min(block, left)
            try:
                data = fh.read(n, dtype="float32", always_2d=True)
            except sf.LibsndfileError as exc:
                fh.close()
                try:
                    fh, resumed, data = _resume(path, pos, rate, total)
                except sf.LibsndfileError:
                    raise exc from None
                gap = resumed - pos if left is None else min(resumed - pos, left)
                log.warning(
                    "%s: libsndfile cannot decode %.2f s at %.2f s: silence there", path, gap / rate, pos / rate
                )
                if report is not None:
                    report.frames, report.spots = report.frames + gap, report.spots + 1
                yield np.zeros((gap, channels), np.float32)
                pos += gap
                if left is not None:
                    left -= gap
                    data = data[:left]
            if len(data) == 0:
                return
            pos += len(data)
            if left is not None:
                left -= len(data)
            yield data
    finally:
        fh.close()
