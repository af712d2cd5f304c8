"""M3U8 playlists round-trip, with relative and absolute paths, spaces and non-ASCII names."""

from pathlib import Path

import pytest

from explorer.analysis import AnalysisError, read_m3u8, write_m3u8


def test_round_trip_relative_non_ascii(tmp_path: Path):
    music = tmp_path / "Música" / "Ölaf & co"
    tracks = [music / "01 — Café del Mar.flac", tmp_path / "日本語" / "歌 1.opus", tmp_path / "plain.mp3"]
    out = write_m3u8(tracks, tmp_path / "lists" / "mix é.m3u8", titles=["Café", "歌", None], durations=[30.4, None, 12])
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n")
    assert "#EXTINF:30,Café\n../Música/Ölaf & co/01 — Café del Mar.flac\n" in text
    assert "#EXTINF:-1,歌\n" in text and "#EXTINF:12,plain\n" in text
    entries = read_m3u8(out)
    assert [e.path for e in entries] == tracks
    assert [e.title for e in entries] == ["Café", "歌", "plain"]
    assert [e.duration for e in entries] == [30.0, None, 12.0]


def test_absolute_and_plain(tmp_path: Path):
    tracks = [tmp_path / "a b" / "x.ogg", tmp_path / "y.m4a"]
    out = write_m3u8(tracks, tmp_path / "abs.m3u8", relative=False)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == ["#EXTM3U", str(tracks[0]), str(tracks[1])]
    assert [e.path for e in read_m3u8(out)] == tracks
    assert all(e.title is None for e in read_m3u8(out))


def test_reads_other_players_files(tmp_path: Path):
    pl = tmp_path / "other.m3u8"
    pl.write_bytes(
        "\ufeff#EXTM3U\r\n#EXTINF:200,Artist - Sóng\r\nsub/one.mp3\r\n\r\n# comment\r\n"
        "file:///music/two%20words.flac\r\n".encode("utf-8")
    )
    entries = read_m3u8(pl)
    assert entries[0].path == tmp_path / "sub" / "one.mp3" and entries[0].title == "Artist - Sóng"
    assert entries[0].duration == 200.0
    assert entries[1].path == Path("/music/two words.flac") and entries[1].title is None


def test_errors(tmp_path: Path):
    with pytest.raises(AnalysisError):
        read_m3u8(tmp_path / "missing.m3u8")
    with pytest.raises(AnalysisError):
        write_m3u8([tmp_path / "a.mp3"], tmp_path / "x.m3u8", titles=["a", "b"])


def test_paths_m3u8_cannot_carry_are_skipped_and_reported(tmp_path: Path):
    import os

    from explorer.analysis.playlists import save_m3u8

    out = tmp_path / "list.m3u8"
    out.write_text("#EXTM3U\nold.mp3\n", encoding="utf-8")
    bad_bytes = os.fsdecode(os.fsencode(str(tmp_path)) + b"/Caf\xe9.mp3")  # not UTF-8: surrogate escapes
    injected = str(tmp_path / "a\n#EXTINF:1,evil\nevil.mp3")
    saved = save_m3u8([tmp_path / "good.mp3", bad_bytes, injected], out, titles=["Good", "Bad", "Line\nbreak"])
    assert saved.written == 1 and len(saved.skipped) == 2
    assert "not valid UTF-8" in saved.skipped[0] and "line break" in saved.skipped[1]
    text = out.read_text(encoding="utf-8")
    assert text == "#EXTM3U\n#EXTINF:-1,Good\ngood.mp3\n"  # no injected #EXTINF line, nothing half-written
    assert [e.path.name for e in read_m3u8(out)] == ["good.mp3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.m3u8"]  # no temporary file left behind


def test_failed_write_leaves_the_old_playlist_whole(tmp_path: Path):
    import subprocess

    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("mounting is not allowed here: a full disk cannot be made")
    try:
        out = disk / "list.m3u8"
        out.write_text("#EXTM3U\nold.mp3\n", encoding="utf-8")
        many = [tmp_path / f"{'x' * 200}{i}.mp3" for i in range(2000)]  # ~400 KB: more than the disk holds
        with pytest.raises(AnalysisError, match="unchanged"):
            write_m3u8(many, out, relative=False)
        assert out.read_text(encoding="utf-8") == "#EXTM3U\nold.mp3\n"
        assert [p.name for p in disk.iterdir()] == ["list.m3u8"]
    finally:
        subprocess.run(["umount", str(disk)])
