"""Decoding every supported format, windows, excerpts, and refusal of bad files without crashing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.audio import (
    AudioDecodeError,
    Excerpt,
    audio_duration,
    excerpt_window,
    load_audio,
    load_excerpt,
    sniff_format,
)


def _demo(demo_files: list[Path], suffix: str) -> Path:
    return next(p for p in demo_files if p.suffix == suffix)


def test_every_demo_file_decodes_to_mono_float32(demo_files):
    seen = set()
    for path in demo_files:
        y = load_audio(path, 16000)
        assert y.dtype == np.float32 and y.ndim == 1, path
        assert abs(len(y) / 16000 - 30.0) < 0.1, (path, len(y))
        assert np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0
        assert np.sqrt(np.mean(y**2)) > 1e-3, f"{path} decoded to silence"
        assert abs(audio_duration(path) - 30.0) < 0.1, path
        seen.add(path.suffix)
    assert seen == {".ogg", ".mp3", ".opus", ".m4a", ".flac"}


def test_sniffing_routes_by_content(demo_files, tmp_path):
    assert sniff_format(_demo(demo_files, ".opus")) == "ogg-opus"
    assert sniff_format(_demo(demo_files, ".ogg")) == "ogg-vorbis"
    assert sniff_format(_demo(demo_files, ".mp3")) == "mp3"
    assert sniff_format(_demo(demo_files, ".m4a")) == "mp4"
    assert sniff_format(_demo(demo_files, ".flac")) == "flac"
    # Opus hiding behind an .ogg or .m4a name must still go to libsndfile (Essentia dies on Opus).
    for ext in (".ogg", ".m4a"):
        disguised = tmp_path / f"opus{ext}"
        shutil.copy(_demo(demo_files, ".opus"), disguised)
        assert sniff_format(disguised) == "ogg-opus"
        assert len(load_audio(disguised, 16000)) == 480000


def test_wav_and_aiff_with_resampling(tmp_path):
    sr = 44100
    t = np.arange(int(2.0 * sr)) / sr
    tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    stereo = np.stack([tone, tone], axis=1)
    for name, fmt in (("a.wav", "WAV"), ("a.aiff", "AIFF")):
        path = tmp_path / name
        sf.write(path, stereo, sr, format=fmt, subtype="PCM_16")
        y = load_audio(path, 16000)
        assert len(y) == 32000
        spectrum = np.abs(np.fft.rfft(y))
        assert abs(np.argmax(spectrum) * 16000 / len(y) - 1000.0) < 1.0
        assert abs(np.abs(y[1000:-1000]).max() - 0.5) < 0.01


def test_window_is_the_same_audio_as_the_full_decode(demo_files):
    flac = _demo(demo_files, ".flac")  # 16 kHz native: no resampling, so samples must match exactly
    full = load_audio(flac, 16000)
    win = load_audio(flac, 16000, start=10.0, duration=5.0)
    np.testing.assert_array_equal(win, full[160000:240000])
    for suffix in (".mp3", ".ogg", ".opus", ".m4a"):
        path = _demo(demo_files, suffix)
        full = load_audio(path, 16000)
        win = load_audio(path, 16000, start=10.0, duration=5.0)
        assert abs(len(win) - 80000) <= 1, suffix
        # Interior samples agree (resampler edges and AAC frame alignment differ by a hair).
        ref = full[160000:240000]
        err = np.abs(win[2000:-2000] - ref[2000:-2000]).max()
        assert err < 0.02, (suffix, err)
        assert len(load_audio(path, 16000, start=29.5, duration=5.0)) == pytest.approx(8000, abs=600)
        with pytest.raises(AudioDecodeError, match="past the end"):
            load_audio(path, 16000, start=31.0, duration=5.0)


def test_excerpt_window_policy():
    assert excerpt_window(200.0) == (60.0, 30.0)
    assert excerpt_window(40.0) == (10.0, 30.0)  # 30 % would be 12 s: shifted back to stay inside
    assert excerpt_window(20.0) == (0.0, 20.0)
    assert excerpt_window(30.0) == (0.0, 30.0)
    assert excerpt_window(100.0, length=10.0, position=0.5) == (50.0, 10.0)


def test_excerpt_rates_come_from_the_source(demo_files):
    path = next(p for p in demo_files if p.name == "warzone2100_legacy_track5.mp3")  # 48 kHz MP3
    ex = load_excerpt(path, rates=(16000, 24000), length=10.0)
    assert isinstance(ex, Excerpt)
    assert ex.start == pytest.approx(9.0) and ex.duration == pytest.approx(10.0)
    assert ex.track_duration == pytest.approx(30.0, abs=0.05)
    assert len(ex.audio[16000]) == 160000 and len(ex.audio[24000]) == 240000

    # The 24 kHz copy keeps content between 8 and 12 kHz, which a copy made from 16 kHz could not have.
    def high_band_share(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / 24000)
        return float(spec[(freqs > 8500) & (freqs < 11500)].sum() / spec.sum())

    from_16k = soxr.resample(ex.audio[16000], 16000, 24000)
    assert high_band_share(ex.audio[24000]) > 1e-5
    assert high_band_share(ex.audio[24000]) > 100 * high_band_share(from_16k)
    np.testing.assert_allclose(ex.audio[16000], load_audio(path, 16000, start=9.0, duration=10.0), atol=1e-6)


def test_short_track_excerpt_is_whole_track(tmp_path):
    path = tmp_path / "short.flac"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(22050 * 3), 22050)
    ex = load_excerpt(path)
    assert ex.start == 0.0 and ex.duration == pytest.approx(3.0) and ex.track_duration == pytest.approx(3.0)
    assert len(ex.audio[16000]) == 48000 and len(ex.audio[24000]) == 72000


@pytest.mark.parametrize("fmt", ["MP3", "FLAC", "OGG"])
def test_excerpt_of_a_long_track_is_the_right_window(tmp_path, fmt):
    """100 s of 10 s tones (300, 500, ... Hz): the excerpt must be 30-60 s, i.e. tone changes 10 s and 20 s in."""
    sr = 44100
    freqs = [300 + 200 * i for i in range(10)]
    wave = np.concatenate([0.3 * np.sin(2 * np.pi * f * np.arange(10 * sr) / sr) for f in freqs]).astype(np.float32)
    path = tmp_path / f"long.{fmt.lower()}"
    subtype = {"MP3": "MPEG_LAYER_III", "OGG": "VORBIS", "FLAC": "PCM_16"}[fmt]
    with sf.SoundFile(path, "w", sr, 1, subtype, format=fmt) as out:
        for i in range(0, len(wave), sr):  # small blocks: one big write crashes libsndfile's Vorbis encoder
            out.write(wave[i : i + sr])
    assert audio_duration(path) == pytest.approx(100.0, abs=0.05)
    ex = load_excerpt(path)
    assert ex.start == pytest.approx(30.0) and ex.duration == pytest.approx(30.0)
    for rate, audio in ex.audio.items():

        def tone(a: float, b: float, audio: np.ndarray = audio, rate: int = rate) -> float:
            seg = audio[int(a * rate) : int(b * rate)]
            return float(np.argmax(np.abs(np.fft.rfft(seg))) * rate / len(seg))

        assert tone(0.0, 0.5) == pytest.approx(900, abs=4)
        assert tone(9.5, 9.95) == pytest.approx(900, abs=4) and tone(10.05, 10.5) == pytest.approx(1100, abs=4)
        assert tone(19.5, 19.95) == pytest.approx(1100, abs=4) and tone(20.05, 20.5) == pytest.approx(1300, abs=4)


def _bad_files(demo_files: list[Path], tmp_path: Path) -> list[Path]:
    bad = []
    for suffix in (".mp3", ".flac", ".ogg", ".opus", ".m4a"):
        src = _demo(demo_files, suffix)
        p = tmp_path / f"truncated{suffix}"
        p.write_bytes(src.read_bytes()[:3000])
        bad.append(p)
    for suffix in (".mp3", ".flac", ".m4a"):
        src = _demo(demo_files, suffix)
        p = tmp_path / f"half{suffix}"
        data = src.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        bad.append(p)
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "notes.ogg").write_text("these are not the samples you are looking for\n" * 50)
    (tmp_path / "noise.m4a").write_bytes(np.random.default_rng(1).bytes(20000))
    (tmp_path / "fake.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16)
    (tmp_path / "fake.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00" + b"\x00" * 100)
    bad += [tmp_path / n for n in ("empty.mp3", "notes.ogg", "noise.m4a", "fake.mp3", "fake.m4a", "missing.flac")]
    return bad


def test_bad_files_raise_audio_decode_error(demo_files, tmp_path):
    for path in _bad_files(demo_files, tmp_path):
        with pytest.raises(AudioDecodeError) as info:
            load_audio(path, 16000)
        assert info.value.path == str(path) and info.value.reason, path
        with pytest.raises(AudioDecodeError):
            load_excerpt(path)


def test_bad_files_never_kill_the_process(demo_files, tmp_path):
    """A decoder crash would take the interpreter down; run the refusals in a child to prove it survives."""
    paths = [str(p) for p in _bad_files(demo_files, tmp_path)]
    code = (
        "import sys\nfrom core.audio import load_audio, AudioDecodeError\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n        load_audio(p, 16000)\n    except AudioDecodeError:\n        pass\n"
        "print('survived')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "survived" in out.stdout, out.stderr[-2000:]


def test_fourq_clip_decodes(fourq_dir):
    clip = sorted((fourq_dir / "audio").glob("*.opus"))[0]
    y = load_audio(clip, 16000)
    assert y.dtype == np.float32 and len(y) > 16000 * 5
    assert audio_duration(clip) == pytest.approx(len(y) / 16000, abs=0.05)
