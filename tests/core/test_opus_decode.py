"""Ogg Opus through libopus directly (core.opus_decode): libsndfile's samples, exact windows, every channel
mapping, the header's gain, and a clean fallback to libsndfile for whatever this reader does not take.

The two multichannel fixtures are 1.5 s of `resources/demo/wesnoth_sad.ogg` (credits: resources/demo/CREDITS.md)
encoded by ffmpeg/libopus with channel mapping family 1: a stereo stream and a 6-channel one (4 streams)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core import opus_decode
from core.audio import AudioDecodeError, load_audio, load_excerpt
from core.opus_decode import OpusFile, OpusUnsupported

DATA = Path(__file__).resolve().parents[1] / "data"
pytestmark = pytest.mark.skipif(not opus_decode.available(), reason="libopus is not installed")


def _libsndfile(path: Path) -> tuple[np.ndarray, int]:
    with sf.SoundFile(str(path)) as fh:
        return fh.read(dtype="float32", always_2d=True), fh.samplerate


def _opus_files(demo_dir: Path, fourq_dir: Path | None) -> list[Path]:
    files = sorted(demo_dir.glob("*.opus"))
    if fourq_dir is not None:
        files += sorted((fourq_dir / "audio").glob("*.opus"))[:200:40]
    return files


@pytest.fixture(scope="module")
def real_files(demo_dir) -> list[Path]:
    from tests.conftest import FOURQ_DIR

    return _opus_files(demo_dir, FOURQ_DIR if (FOURQ_DIR / "labels.csv").exists() else None)


def test_same_samples_and_rate_as_libsndfile(real_files):
    assert len(real_files) >= 4
    for path in real_files:
        opus = OpusFile.read(str(path))
        ref, rate = _libsndfile(path)
        assert opus.rate == rate and opus.frames == len(ref)
        np.testing.assert_array_equal(opus.decode(), ref)


def test_a_window_is_the_same_stretch_of_a_decode_from_the_start(real_files):
    for path in real_files[:4]:
        opus = OpusFile.read(str(path))
        full = opus.decode()
        first, count = int(11.3 * opus.rate), 12 * opus.rate
        window = opus.decode(first, count)
        assert window.shape == (count, full.shape[1])
        np.testing.assert_allclose(window, full[first : first + count], atol=1e-6, rtol=0)
        tail = opus.decode(opus.frames - 100, 1000)  # a window past the end stops at the end
        np.testing.assert_array_equal(tail, full[-100:])


@pytest.mark.parametrize("name, channels", [("opus_family1_stereo.opus", 2), ("opus_family1_5ch.opus", 6)])
def test_channel_mapping_family_1(name, channels):
    path = DATA / name
    opus = OpusFile.read(str(path))
    ref, rate = _libsndfile(path)
    got = opus.decode()
    assert got.shape == ref.shape == (int(1.5 * rate), channels)
    np.testing.assert_array_equal(got, ref)
    mono = load_audio(path, rate)
    np.testing.assert_allclose(mono, np.clip(ref.mean(axis=1), -1, 1), atol=1e-6)


def _with_checksum(page: bytearray) -> bytes:
    page[22:26] = b"\0\0\0\0"
    mirrored = memoryview(bytes(page).translate(opus_decode._BIT_REVERSED))
    page[22:26] = struct.pack("<I", opus_decode._page_crc(mirrored, 0, len(page)))
    return bytes(page)


def test_the_header_output_gain_is_applied(demo_dir, tmp_path):
    data = (demo_dir / "warzone2100_legacy_track4.opus").read_bytes()
    first_page_end = 27 + data[26] + sum(data[27 : 27 + data[26]])
    head = bytearray(data[:first_page_end])
    at = head.index(b"OpusHead") + 16
    assert struct.unpack_from("<h", head, at)[0] == 0
    struct.pack_into("<h", head, at, round(20 * np.log10(2) * 256))  # +6.02 dB: twice the amplitude
    louder = tmp_path / "louder.opus"
    louder.write_bytes(_with_checksum(head) + data[first_page_end:])
    plain = OpusFile.read(str(demo_dir / "warzone2100_legacy_track4.opus")).decode()
    got = OpusFile.read(str(louder)).decode()
    np.testing.assert_allclose(got, 2 * plain, atol=2e-3 * np.abs(plain).max())


@pytest.mark.parametrize("input_rate, rate", [(44100, 48000), (22050, 24000), (16000, 16000), (0, 48000)])
def test_decoding_rate_follows_the_encoder_input_rate(demo_dir, tmp_path, input_rate, rate):
    data = (demo_dir / "warzone2100_legacy_track4.opus").read_bytes()
    first_page_end = 27 + data[26] + sum(data[27 : 27 + data[26]])
    head = bytearray(data[:first_page_end])
    struct.pack_into("<I", head, head.index(b"OpusHead") + 12, input_rate)
    path = tmp_path / "rate.opus"
    path.write_bytes(_with_checksum(head) + data[first_page_end:])
    opus = OpusFile.read(str(path))
    assert opus.rate == rate and opus.frames == 30 * rate and len(opus.decode()) == 30 * rate
    if input_rate:  # libsndfile agrees, except that it decodes an unspecified rate at 8 kHz
        assert sf.info(str(path)).samplerate == rate


def _second_audio_page(data: bytes) -> int:
    pos, index = 0, 0
    while True:
        count = data[pos + 26]
        size = 27 + count + sum(data[pos + 27 : pos + 27 + count])
        if index == 3:
            return pos
        pos, index = pos + size, index + 1


def test_damaged_chained_or_unreadable_files_go_to_libsndfile(demo_dir, tmp_path, monkeypatch):
    source = demo_dir / "warzone2100_legacy_track4.opus"
    data = source.read_bytes()
    damaged = bytearray(data)
    damaged[_second_audio_page(data) + 200] ^= 0xFF  # a flipped byte inside a page: its checksum fails
    bad = tmp_path / "damaged.opus"
    bad.write_bytes(bytes(damaged))
    with pytest.raises(OpusUnsupported, match="checksum"):
        OpusFile.read(str(bad))
    chained = tmp_path / "chained.opus"
    chained.write_bytes(data + data.replace(data[14:18], b"\x01\x02\x03\x04"))  # a second stream, new serial
    with pytest.raises(OpusUnsupported, match="chained"):
        OpusFile.read(str(chained))
    for path in (bad, chained):  # analysis still reads them, through libsndfile
        assert len(load_audio(path, 16000)) >= 29 * 16000
    monkeypatch.setattr(opus_decode, "MAX_FILE_BYTES", len(data) - 1)  # too big to read whole: libsndfile streams it
    with pytest.raises(OpusUnsupported, match="too large"):
        OpusFile.read(str(source))
    assert len(load_audio(source, 16000)) == 30 * 16000
    monkeypatch.undo()
    truncated = tmp_path / "truncated.opus"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(OpusUnsupported, match="truncated"):
        OpusFile.read(str(truncated))
    assert 8 * 16000 <= len(load_audio(truncated, 16000)) <= 11 * 16000  # libsndfile gives what is there
    with pytest.raises(AudioDecodeError):  # and nothing at all from a file cut inside its headers
        truncated.write_bytes(data[:60])
        load_audio(truncated, 16000)


def test_without_libopus_the_excerpt_is_the_same(demo_dir, monkeypatch):
    path = demo_dir / "wesnoth_knolls.opus"
    direct = load_excerpt(path, rates=(16000,)).audio[16000]
    monkeypatch.setattr(opus_decode, "_libopus", lambda: None)
    with pytest.raises(OpusUnsupported, match="libopus"):
        OpusFile.read(str(path))
    np.testing.assert_array_equal(load_excerpt(path, rates=(16000,)).audio[16000], direct)
