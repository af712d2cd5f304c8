"""Ogg Opus files decoded straight through libopus: the same decoder libsndfile uses, without its overhead.

Why: on a 30 s Opus clip libsndfile 1.2 spends ~90 ms, of which libopus's own decoding is ~38 ms; the rest is its
Ogg Opus reader. Opus is a common library format (and the format of the 4Q clips), and decoding was the largest
indexing stage on it. This module reads the Ogg pages itself (RFC 3533), hands each packet to libopus's
multistream decoder (RFC 7845 channel mappings 0 and 1) and applies the header's pre-skip, output gain and
end trimming, so it returns what libsndfile returns: the same rate (the encoder's input rate when Opus can
decode at it, else the next higher Opus rate) and the same samples to float rounding.

Anything it does not handle (no libopus on the system, chained or multiplexed streams, unknown mappings, a
packet libopus rejects) raises `OpusUnsupported`, and `core.audio` falls back to libsndfile, which also steps
over damaged spots. libopus is found with `ctypes.util.find_library("opus")` (Debian/Ubuntu: libopus0).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import zlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

GRANULE_RATE = 48000  # Ogg Opus granule positions and the pre-skip count 48 kHz samples
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
SEEK_PREROLL = 0.5  # RFC 7845 asks for >= 80 ms before a seek target; low-bitrate SILK converges later
MAX_PACKET_S = 0.12  # the longest Opus packet
_SET_GAIN = 4034  # OPUS_SET_GAIN_REQUEST
MAX_FILE_BYTES = 256 << 20  # the file is read whole (and mirrored once for the checksums): ~10 h of music at 64 kb/s


class OpusUnsupported(Exception):
    """This reader cannot decode the file (or libopus is missing): use another decoder."""


_DECODE_ARGS = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_CTL_ARGS = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]  # the controls used here take one int
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    # The single-stream API serves mapping family 0 (mono, stereo): the multistream one costs ~3x more per packet.
    "opus_decoder_create": (ctypes.c_void_p, [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "opus_decode_float": (ctypes.c_int, _DECODE_ARGS),
    "opus_decoder_destroy": (None, [ctypes.c_void_p]),
    "opus_decoder_ctl": (ctypes.c_int, _CTL_ARGS),
    "opus_multistream_decoder_create": (
        ctypes.c_void_p,
        [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)],
    ),
    "opus_multistream_decode_float": (ctypes.c_int, _DECODE_ARGS),
    "opus_multistream_decoder_destroy": (None, [ctypes.c_void_p]),
    "opus_multistream_decoder_ctl": (ctypes.c_int, _CTL_ARGS),
}


@lru_cache(maxsize=1)
def _libopus() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opus")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        for function, (result, args) in _SIGNATURES.items():
            getattr(lib, function).restype = result
            getattr(lib, function).argtypes = args
    except (OSError, AttributeError):  # not loadable, or too old to have these functions
        return None
    return lib


def available() -> bool:
    """Whether libopus can be loaded on this system."""
    return _libopus() is not None


@dataclass(frozen=True)
class _Head:
    channels: int
    pre_skip: int  # 48 kHz samples
    input_rate: int
    gain_q8: int  # output gain, dB in Q7.8
    streams: int
    coupled: int
    mapping: bytes


@dataclass(frozen=True)
class _Page:
    granule: int
    continued: bool  # the page starts with the rest of a packet begun on an earlier page
    packets: tuple[bytes, ...]  # packets completed on this page (a continued one whole)


def _parse_head(packet: bytes) -> _Head:
    if len(packet) < 19 or packet[:8] != b"OpusHead" or packet[8] >> 4 != 0:
        raise OpusUnsupported("not an Opus identification header")
    channels, pre_skip, rate, gain, family = struct.unpack_from("<BHIhB", packet, 9)
    if channels < 1:
        raise OpusUnsupported("no channels")
    if family == 0:
        if channels > 2:
            raise OpusUnsupported("mapping family 0 with more than 2 channels")
        return _Head(channels, pre_skip, rate, gain, 1, channels - 1, bytes(range(channels)))
    if family == 1 and len(packet) >= 21 + channels:
        streams, coupled = packet[19], packet[20]
        return _Head(channels, pre_skip, rate, gain, streams, coupled, bytes(packet[21 : 21 + channels]))
    raise OpusUnsupported(f"channel mapping family {family}")


@dataclass(frozen=True)
class _Decoder:
    """One libopus decoder: the single-stream API when there is one stream, the multistream one otherwise."""

    handle: int
    decode: Any
    destroy: Any


def _decoder(lib: ctypes.CDLL, head: _Head, rate: int) -> _Decoder:
    err = ctypes.c_int()
    if head.streams == 1 and head.mapping == bytes(range(head.channels)):
        handle = lib.opus_decoder_create(rate, head.channels, ctypes.byref(err))
        decode, destroy, ctl = lib.opus_decode_float, lib.opus_decoder_destroy, lib.opus_decoder_ctl
    else:
        handle = lib.opus_multistream_decoder_create(
            rate, head.channels, head.streams, head.coupled, head.mapping, ctypes.byref(err)
        )
        decode = lib.opus_multistream_decode_float
        destroy, ctl = lib.opus_multistream_decoder_destroy, lib.opus_multistream_decoder_ctl
    if not handle or err.value != 0:
        raise OpusUnsupported(f"libopus refused the stream layout (error {err.value})")
    if head.gain_q8:
        ctl(handle, _SET_GAIN, head.gain_q8)
    return _Decoder(handle, decode, destroy)


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _page_crc(reversed_data: memoryview, start: int, end: int) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, MSB first, zero init, checksum field as zeros),
    computed with zlib's LSB-first CRC-32 on bit-reversed bytes: the same arithmetic mirrored, at C speed."""
    crc = zlib.crc32(reversed_data[start : start + 22], 0xFFFFFFFF)
    crc = zlib.crc32(reversed_data[start + 26 : end], zlib.crc32(b"\0\0\0\0", crc)) ^ 0xFFFFFFFF
    return int(f"{crc:032b}"[::-1], 2)


def _pages(data: bytes) -> list[_Page]:
    """Every page of a single logical stream, with its completed packets; a page whose checksum fails raises."""
    pages: list[_Page] = []
    pos, serial, pending = 0, None, b""
    size = len(data)
    mirrored = memoryview(data.translate(_BIT_REVERSED))
    while pos < size:
        if data[pos : pos + 4] != b"OggS" or pos + 27 > size or data[pos + 4] != 0:
            raise OpusUnsupported(f"damaged Ogg page at byte {pos}")
        flags = data[pos + 5]
        granule, page_serial = struct.unpack_from("<qI", data, pos + 6)
        if serial is None:
            serial = page_serial
        elif page_serial != serial or flags & 0x02:
            raise OpusUnsupported("chained or multiplexed Ogg streams")
        count = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + count]
        body = pos + 27 + count
        if body + sum(lacing) > size:
            raise OpusUnsupported("truncated last page")
        if _page_crc(mirrored, pos, body + sum(lacing)) != struct.unpack_from("<I", data, pos + 22)[0]:
            raise OpusUnsupported(f"Ogg page at byte {pos} fails its checksum")
        continued = bool(flags & 0x01)
        if not continued:
            pending = b""
        packets = []
        start = body
        for i, lace in enumerate(lacing):
            body += lace
            if lace < 255:
                packets.append(pending + data[start:body])
                pending, start = b"", body
            elif i == count - 1:
                pending += data[start:body]
        pages.append(_Page(granule, continued, tuple(packets)))
        pos = body
    return pages


def _packet_samples(packets: list[bytes]) -> np.ndarray:
    """48 kHz samples each packet decodes to, from its TOC byte (RFC 6716 3.1): frame size x frame count."""
    if not packets:
        return np.zeros(0, np.int64)
    if any(len(p) < 2 for p in packets):  # 0-byte packets ask for concealment; 1-byte ones are rare: let libsndfile
        raise OpusUnsupported("packets too short to carry audio")
    toc = np.frombuffer(b"".join(p[:1] for p in packets), np.uint8).astype(np.int64)
    second = np.frombuffer(b"".join(p[1:2] for p in packets), np.uint8).astype(np.int64)
    config, code = toc >> 3, toc & 3
    silk = np.array([480, 960, 1920, 2880])[config % 4]
    hybrid = np.array([480, 960])[config % 2]
    celt = np.array([120, 240, 480, 960])[config % 4]
    size = np.where(config < 12, silk, np.where(config < 16, hybrid, celt))
    count = np.where(code == 0, 1, np.where(code == 3, second & 0x3F, 2))
    return size * count


def decode_rate(input_rate: int) -> int:
    """The rate the file is decoded at: the encoder's input rate when Opus decodes at it, else the next higher
    (libsndfile's choice too), and 48 kHz when the header leaves it unspecified (0; libsndfile would pick 8 kHz and
    lose everything above 4 kHz)."""
    if input_rate <= 0:
        return GRANULE_RATE
    return next((r for r in OPUS_RATES if r >= input_rate), GRANULE_RATE)


@dataclass(frozen=True)
class OpusFile:
    """A parsed Ogg Opus file, ready to decode any window."""

    head: _Head
    pages: list[_Page]
    audio_page: int  # the first page of audio: the one after the comment header's last page (RFC 7845)
    rate: int
    frames: int  # decodable samples per channel at `rate`, after pre-skip and end trimming

    @classmethod
    def read(cls, path: str) -> OpusFile:
        """Parse `path`; raises OpusUnsupported when this reader cannot take it, OSError when unreadable."""
        if _libopus() is None:
            raise OpusUnsupported("libopus is not installed")
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_FILE_BYTES:
                raise OpusUnsupported("file too large to read whole; libsndfile streams it")
            data = fh.read()
        pages = _pages(data)
        if not pages or not pages[0].packets:
            raise OpusUnsupported("no identification header")
        head = _parse_head(pages[0].packets[0])
        seen, audio_page = 0, len(pages)
        for i, page in enumerate(pages):
            seen += len(page.packets)
            if seen >= 2:  # the identification and comment headers are complete
                audio_page = i + 1
                break
        if audio_page >= len(pages):
            raise OpusUnsupported("no audio pages")
        rate = decode_rate(head.input_rate)
        last = max((p.granule for p in pages if p.granule >= 0), default=0)
        frames = max((last - head.pre_skip) * rate // GRANULE_RATE, 0)
        return cls(head, pages, audio_page, rate, frames)

    @cached_property
    def page_starts(self) -> np.ndarray:
        """(audio pages,) 48 kHz position of each audio page's first completed packet in the decoded stream: the
        samples of every packet completed on the pages before it. Taken from the packets themselves, not from the
        pages' granule positions: some muxers write granules that drift from what the packets decode to, and a
        window must match a decode from the start. Only windows that start inside the file need it."""
        audio = self.pages[self.audio_page :]
        samples = _packet_samples([packet for p in audio for packet in p.packets])
        page_of_packet = np.repeat(np.arange(len(audio)), [len(p.packets) for p in audio])
        per_page = np.bincount(page_of_packet, weights=samples, minlength=len(audio)).astype(np.int64)
        return np.concatenate([[0], np.cumsum(per_page)[:-1]])

    def _start_page(self, first: int) -> tuple[int, int]:
        """(page index to decode from, its first packet's 48 kHz position) for a window at output sample `first`:
        the last page that starts a fresh packet at least the pre-roll before it."""
        target = self.head.pre_skip + first * GRANULE_RATE // self.rate - int(SEEK_PREROLL * GRANULE_RATE)
        later = range(self.audio_page + 1, len(self.pages))
        fresh = [self.audio_page] + [i for i in later if not self.pages[i].continued]
        starts = self.page_starts[np.array(fresh) - self.audio_page]
        k = max(int(np.searchsorted(starts, target, side="right")) - 1, 0)
        return fresh[k], int(starts[k])

    def decode(self, first: int = 0, count: int | None = None) -> np.ndarray:
        """(n, channels) float32 samples `first` .. `first + count` (None: to the end) at `self.rate`."""
        lib = _libopus()
        assert lib is not None
        head, rate = self.head, self.rate
        first = min(max(first, 0), self.frames)
        end = self.frames if count is None else min(first + max(count, 0), self.frames)
        page, granule = self._start_page(first) if first > 0 else (self.audio_page, 0)
        skip = head.pre_skip * rate // GRANULE_RATE + first - granule * rate // GRANULE_RATE  # samples to drop
        wanted = skip + end - first
        longest = int(MAX_PACKET_S * rate)
        out = np.zeros((wanted + longest, head.channels), np.float32)
        dec = _decoder(lib, head, rate)
        filled = 0
        base, stride = out.ctypes.data, out.strides[0]
        try:
            for p in self.pages[page:]:
                for packet in p.packets:
                    if filled >= wanted:
                        break
                    got = dec.decode(dec.handle, packet, len(packet), base + filled * stride, longest, 0)
                    if got < 0:
                        raise OpusUnsupported(f"libopus error {got} on a packet")
                    filled += got
                if filled >= wanted:
                    break
        finally:
            dec.destroy(dec.handle)
        return out[skip : min(filled, wanted)]
