"""Audio playback for the explorer: a sounddevice output stream fed by a streaming decoder thread.

No Qt here: the player reports position, end-of-track and errors through plain callbacks that the UI wraps
into signals. The audio callback only copies ready-made blocks (it never decodes), so decoding a slow format
can never glitch the output; the decoder thread keeps about two seconds buffered ahead of the callback.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.sf_blocks import read_blocks

log = logging.getLogger(__name__)

OUTPUT_CHANNELS = 2
FALLBACK_RATE = 44100  # rate used for formats that go through core.audio.load_audio
DECODE_BLOCK_SECONDS = 0.5
BUFFER_AHEAD_SECONDS = 2.0
_EOF = None  # marker pushed into the block queue after the last block


class PlaybackError(Exception):
    """Playback could not start (no output device, unreadable file)."""


FinishedCallback = Callable[[str], None]
ErrorCallback = Callable[[str, str], None]


class OutputStreamLike(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


StreamFactory = Callable[..., OutputStreamLike]


def list_output_devices() -> list[str]:
    """Names of the output devices PortAudio sees (for the settings dialog); empty when none or no PortAudio."""
    try:
        import sounddevice as sd

        return [d["name"] for d in sd.query_devices() if d.get("max_output_channels", 0) > 0]
    except Exception:  # PortAudio missing or broken: the app still runs, without sound
        return []


def _to_output_channels(block: np.ndarray) -> np.ndarray:
    """(frames, ch) or (frames,) -> (frames, 2) float32: mono is duplicated, >2 channels folded to stereo."""
    if block.ndim == 1:
        block = block[:, None]
    if block.shape[1] == 1:
        block = np.repeat(block, OUTPUT_CHANNELS, axis=1)
    elif block.shape[1] > OUTPUT_CHANNELS:
        block = np.stack([block[:, 0::2].mean(axis=1), block[:, 1::2].mean(axis=1)], axis=1)
    return np.ascontiguousarray(block, dtype=np.float32)


@dataclass
class _Source:
    """One opened track: its native rate and a generator of blocks from a given start."""

    samplerate: int
    duration: float
    blocks: Callable[[float, float | None], Iterator[np.ndarray]]


def _soundfile_source(path: str) -> _Source | None:
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception:
        return None  # not a format libsndfile reads (m4a, ...)
    rate = int(info.samplerate)

    def blocks(start: float, duration: float | None) -> Iterator[np.ndarray]:
        # core.sf_blocks steps over a spot libsndfile cannot decode (silence there) instead of stopping the track
        first = min(int(start * rate), max(int(info.frames) - 1, 0))
        frames = int(duration * rate) if duration is not None else None
        yield from read_blocks(path, first, frames, int(DECODE_BLOCK_SECONDS * rate))

    return _Source(rate, float(info.frames) / rate, blocks)


def _core_audio_source(path: str) -> _Source:
    """Formats libsndfile refuses go through core.audio in chunks (each chunk is a seek + short decode)."""
    from core.audio import audio_duration, load_audio

    total = float(audio_duration(path))
    chunk = 5.0

    def blocks(start: float, duration: float | None) -> Iterator[np.ndarray]:
        end = total if duration is None else min(total, start + duration)
        pos = start
        while pos < end - 1e-3:
            n = min(chunk, end - pos)
            data = load_audio(path, FALLBACK_RATE, start=pos, duration=n)
            if data.size == 0:
                return
            yield np.asarray(data, dtype=np.float32)
            pos += n

    return _Source(FALLBACK_RATE, total, blocks)


def open_source(path: str) -> _Source:
    """Pick the decoder for a file: libsndfile where it can (incl. opus), core.audio otherwise."""
    if not Path(path).is_file():
        raise PlaybackError(f"file not found: {path}")
    src = _soundfile_source(path)
    if src is not None:
        return src
    try:
        return _core_audio_source(path)
    except Exception as exc:
        raise PlaybackError(f"cannot read {Path(path).name}: {exc}") from exc


def _default_stream_factory(**kwargs) -> OutputStreamLike:
    import sounddevice as sd

    return sd.OutputStream(**kwargs)


class Player:
    """Plays one track at a time; thread-safe; callbacks run on the decoder thread, never on the audio thread.

    `stream_factory(samplerate=, channels=, dtype=, callback=, device=)` builds the output stream; tests pass
    a fake one and drive the callback by hand.
    """

    def __init__(
        self,
        *,
        device: str | int | None = None,
        on_finished: FinishedCallback | None = None,
        on_error: ErrorCallback | None = None,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self.on_finished = on_finished
        self.on_error = on_error
        self._factory = stream_factory or _default_stream_factory
        self._device = device
        self._cond = threading.Condition()
        self._stream_lock = threading.Lock()  # guards opening/starting/stopping the output stream
        self._running = False  # the stream is started (it is stopped while nothing plays, to idle the device)
        self._blocks: collections.deque = collections.deque()
        self._head_offset = 0  # frames already consumed from _blocks[0]
        self._buffered = 0
        self._gen = 0
        self._stream: OutputStreamLike | None = None
        self._stream_rate = 0
        self._source: _Source | None = None
        self._path: str | None = None
        self._start = 0.0
        self._limit: float | None = None  # seconds to play from the first start (previews)
        self._origin = 0.0  # where the current play() began, to honour _limit across seeks
        self._played = 0  # frames output since _start
        self._paused = False
        self._ended = False
        self._volume = 1.0

    # -- public API -----------------------------------------------------------------------------
    @property
    def path(self) -> str | None:
        return self._path

    @property
    def duration(self) -> float:
        return self._source.duration if self._source else 0.0

    @property
    def position(self) -> float:
        with self._cond:
            rate = self._stream_rate or 1
            return self._start + self._played / rate

    @property
    def is_playing(self) -> bool:
        return self._path is not None and not self._paused and not self._ended

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, volume: float) -> None:
        self._volume = float(min(max(volume, 0.0), 1.0))

    def set_device(self, device: str | int | None) -> None:
        """Switch output device; the next play() opens the stream on it."""
        self._device = device
        self._close_stream()

    def play(self, path: str | Path, start: float = 0.0, duration: float | None = None) -> None:
        """Start `path` at `start` seconds; `duration` stops it early (10 s previews). Raises PlaybackError."""
        path = str(path)
        source = open_source(path)
        start = float(start) if math.isfinite(float(start)) else 0.0
        start = min(max(start, 0.0), max(source.duration - 0.05, 0.0))
        if duration is not None and not (math.isfinite(float(duration)) and duration > 0):
            duration = None
        with self._cond:
            self._gen += 1  # retire the old decoder first, so it cannot stop the stream we are about to start
        self._ensure_stream(source.samplerate)
        with self._cond:
            self._source, self._path = source, path
            self._origin, self._limit = start, duration
            self._paused = False
        self._restart(start)

    def seek(self, seconds: float) -> None:
        if self._source is None or not math.isfinite(float(seconds)):
            return
        end = self._source.duration if self._limit is None else min(self._source.duration, self._origin + self._limit)
        self._restart(float(min(max(seconds, 0.0), max(end - 0.05, 0.0))))

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False

    def toggle_pause(self) -> None:
        with self._cond:
            self._paused = not self._paused

    def stop(self) -> None:
        with self._cond:
            self._gen += 1
            gen = self._gen
            self._blocks.clear()
            self._buffered = self._head_offset = 0
            self._path = self._source = None
            self._played = 0
            self._start = 0.0
            self._cond.notify_all()
        self._idle_stream(gen)

    def close(self) -> None:
        self.stop()
        self._close_stream()

    # -- internals ------------------------------------------------------------------------------
    def _ensure_stream(self, rate: int) -> None:
        """An open, started stream at `rate` (a new track at another rate reopens it)."""
        with self._stream_lock:
            try:
                if self._stream is not None and self._stream_rate != rate:
                    self._close_stream_locked()
                if self._stream is None:
                    self._stream = self._factory(
                        samplerate=rate,
                        channels=OUTPUT_CHANNELS,
                        dtype="float32",
                        callback=self._callback,
                        device=self._device,
                    )
                    self._stream_rate = rate
                if not self._running:
                    self._stream.start()
                    self._running = True
            except Exception as exc:
                self._close_stream_locked()
                raise PlaybackError(
                    f"cannot open the audio output ({exc}); check the output device in Settings"
                ) from exc

    def _idle_stream(self, gen: int) -> None:
        """Stop (not close) the stream when nothing plays any more, unless a newer play() already took over."""
        with self._stream_lock:
            if gen != self._gen or self._stream is None or not self._running:
                return
            try:
                getattr(self._stream, "abort", self._stream.stop)()
            except Exception:
                log.debug("stopping output stream failed", exc_info=True)
            self._running = False

    def _close_stream(self) -> None:
        with self._stream_lock:
            self._close_stream_locked()

    def _close_stream_locked(self) -> None:
        stream, self._stream, self._stream_rate, self._running = self._stream, None, 0, False
        if stream is not None:
            try:
                getattr(stream, "abort", stream.stop)()
                stream.close()
            except Exception:  # a dead device must not stop us from opening another one
                log.debug("closing output stream failed", exc_info=True)

    def _restart(self, start: float) -> None:
        with self._cond:
            self._gen += 1
            gen = self._gen
            self._blocks.clear()
            self._buffered = self._head_offset = 0
            self._start, self._played, self._ended = start, 0, False
            left = None if self._limit is None else max(self._origin + self._limit - start, 0.0)
            source, path = self._source, self._path
            self._cond.notify_all()
        thread = threading.Thread(
            target=self._decode, args=(gen, source, path, start, left), name="qfx-decoder", daemon=True
        )
        thread.start()

    def _current(self, gen: int) -> bool:
        return gen == self._gen

    def _decode(self, gen: int, source: _Source, path: str, start: float, left: float | None) -> None:
        ahead = int(BUFFER_AHEAD_SECONDS * source.samplerate)
        try:
            for block in source.blocks(start, left):
                out = _to_output_channels(block)
                with self._cond:
                    while self._current(gen) and self._buffered >= ahead:
                        self._cond.wait(0.2)
                    if not self._current(gen):
                        return
                    self._blocks.append(out)
                    self._buffered += len(out)
            with self._cond:
                if not self._current(gen):
                    return
                self._blocks.append(_EOF)
                while self._current(gen) and not self._ended:
                    self._cond.wait(0.2)
                if not self._current(gen):
                    return
                self._path = None
            self._idle_stream(gen)
        except Exception as exc:
            with self._cond:
                current = self._current(gen)
                if current:
                    self._path = None
                    self._ended = True
            if current:
                self._idle_stream(gen)
                log.warning("playback of %s failed: %s", path, exc)
                if self.on_error:
                    self.on_error(path, f"cannot play {Path(path).name}: {exc}")
            return
        if self.on_finished:
            self.on_finished(path)

    def _callback(self, outdata: np.ndarray, frames: int, time_info=None, status=None) -> None:
        """Runs on the audio thread: copy buffered frames out, silence when paused or starved."""
        outdata.fill(0)
        with self._cond:
            if self._paused or self._path is None:
                return
            filled = 0
            while filled < frames and self._blocks:
                head = self._blocks[0]
                if head is _EOF:
                    self._ended = True
                    self._cond.notify_all()
                    break
                n = min(frames - filled, len(head) - self._head_offset)
                outdata[filled : filled + n] = head[self._head_offset : self._head_offset + n]
                filled += n
                self._head_offset += n
                if self._head_offset >= len(head):
                    self._blocks.popleft()
                    self._head_offset = 0
            self._buffered -= filled
            self._played += filled
            if filled:
                self._cond.notify_all()
        if self._volume != 1.0:
            outdata *= self._volume
