"""Scanner and tags on the demo library plus the awkward things real music folders contain."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from explorer.library.scanner import scan_audio_files, sniff_audio
from explorer.library.tags import parse_filename, track_tags


def test_demo_library_found(demo_dir: Path, demo_files: list[Path]) -> None:
    found = list(scan_audio_files(demo_dir))
    assert sorted(found) == sorted(demo_files)  # CREDITS.md left out
    assert all(p.is_absolute() for p in found)


def test_sniffing_hidden_system_and_loops(tmp_path: Path, demo_files: list[Path]) -> None:
    lib = tmp_path / "lib"
    (lib / "a" / "b").mkdir(parents=True)
    mp3 = next(p for p in demo_files if p.suffix == ".mp3")
    flac = next(p for p in demo_files if p.suffix == ".flac")
    shutil.copy(mp3, lib / "a" / "song.mp3")
    shutil.copy(flac, lib / "a" / "b" / "noextension")  # found by magic bytes
    shutil.copy(mp3, lib / "a" / "b" / "renamed.dat")  # unknown extension, audio content
    (lib / "a" / "b" / "notes.dat").write_bytes(b"just some text, not audio")
    (lib / "a" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)  # JPEG starts with 0xFFD8: not MPEG sync
    shutil.copy(mp3, lib / "a" / ".hidden.mp3")
    (lib / ".git").mkdir()
    shutil.copy(mp3, lib / ".git" / "inside_hidden_dir.mp3")
    (lib / "@eaDir").mkdir()
    shutil.copy(mp3, lib / "@eaDir" / "nas_thumb.mp3")
    (lib / "Thumbs.db").write_bytes(b"x")
    os.symlink(lib, lib / "a" / "b" / "loop")  # symlink loop back to the root
    os.symlink(lib / "missing.mp3", lib / "dangling.mp3")
    found = {p.relative_to(lib).as_posix() for p in scan_audio_files(lib)}
    assert found == {"a/song.mp3", "a/b/noextension", "a/b/renamed.dat"}


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions as non-root")
def test_unreadable_dir_is_skipped(tmp_path: Path, demo_files: list[Path]) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "locked").mkdir()
    shutil.copy(demo_files[0], tmp_path / "ok" / demo_files[0].name)
    shutil.copy(demo_files[0], tmp_path / "locked" / demo_files[0].name)
    os.chmod(tmp_path / "locked", 0)
    errors: list[str] = []
    try:
        found = list(scan_audio_files(tmp_path, on_error=lambda p, e: errors.append(p)))
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert [p.parent.name for p in found] == ["ok"]
    assert errors and errors[0].endswith("locked")


@pytest.mark.skipif(sys.platform != "linux", reason="byte file names are a POSIX thing")
def test_non_utf8_file_name(tmp_path: Path, demo_files: list[Path]) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/Caf\xe9 - Cr\xe8me.ogg"  # Latin-1 bytes: invalid UTF-8
    ogg = next(p for p in demo_files if p.suffix == ".ogg")
    with open(raw, "wb") as fh:
        fh.write(ogg.read_bytes())
    (found,) = list(scan_audio_files(tmp_path))
    assert os.fsencode(found) == raw
    assert found.read_bytes()[:4] == b"OggS"  # the yielded path opens the real file
    tags = track_tags(found)
    assert tags["title"]  # tags or filename fallback, printable
    tags["title"].encode("utf-8")


def test_sniff_signatures() -> None:
    assert sniff_audio(b"ID3\x04\x00" + b"\x00" * 11)
    assert sniff_audio(b"\x00\x00\x00\x20ftypM4A ")
    assert sniff_audio(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert sniff_audio(b"\xff\xfb\x90\x00")  # MPEG-1 layer III frame
    assert not sniff_audio(b"\xff\xd8\xff\xe0JFIF")
    assert not sniff_audio(b"%PDF-1.4")
    assert not sniff_audio(b"")


def test_filename_fallback() -> None:
    assert parse_filename("/m/Artist Name - Song Title.mp3") == {"artist": "Artist Name", "title": "Song Title"}
    assert parse_filename("/m/07 - Only Title.flac") == {"title": "Only Title"}
    assert parse_filename("/m/03. Band - Tune.ogg") == {"artist": "Band", "title": "Tune"}
    assert parse_filename("/m/plain_name.ogg") == {"title": "plain name"}


def test_track_tags_demo_and_untagged(tmp_path: Path, demo_files: list[Path]) -> None:
    from core.features.genre import GENRES

    tagged = track_tags(demo_files[0])
    assert tagged["title"] and tagged["artist"]
    assert tagged["duration"] == pytest.approx(30, abs=2)
    assert set(tagged["genres"]) <= set(GENRES)
    # Untagged copy: WAV without an INFO chunk, named "Artist - Title".
    import numpy as np
    import soundfile as sf

    path = tmp_path / "Some Artist - Some Title.wav"
    sf.write(path, np.zeros(8000, np.float32), 8000)
    tags = track_tags(path)
    assert tags["artist"] == "Some Artist" and tags["title"] == "Some Title"
    assert tags["genres"] == ["Unknown"]
