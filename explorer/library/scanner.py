"""Find the audio files under a library folder.

Real music folders hold covers, playlists, NAS metadata folders, symlink loops, unreadable corners and file names
that are not valid UTF-8. The walk survives all of them: it never follows a directory twice, skips what it cannot
read, and yields paths built with the OS file-system encoding (surrogateescape), so a byte-named file stays openable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

# Extensions we treat as audio without looking inside (the decoder reports what it cannot read).
AUDIO_EXTENSIONS = frozenset(
    {
        ".mp3",
        ".mp2",
        ".ogg",
        ".oga",
        ".opus",
        ".flac",
        ".m4a",
        ".m4b",
        ".mp4",
        ".aac",
        ".alac",
        ".wav",
        ".wave",
        ".aif",
        ".aiff",
        ".aifc",
        ".wma",
        ".ape",
        ".wv",
        ".mpc",
        ".tta",
        ".webm",
        ".mka",
    }
)
# Extensions that are certainly not audio: never opened for sniffing.
NON_AUDIO_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".bmp",
        ".webp",
        ".tif",
        ".tiff",
        ".txt",
        ".nfo",
        ".cue",
        ".log",
        ".m3u",
        ".m3u8",
        ".pls",
        ".xspf",
        ".pdf",
        ".md",
        ".json",
        ".xml",
        ".html",
        ".htm",
        ".db",
        ".ini",
        ".lrc",
        ".sfv",
        ".md5",
        ".url",
        ".lnk",
        ".zip",
        ".rar",
        ".7z",
        ".gz",
        ".py",
        ".exe",
        ".dll",
        ".mkv",
        ".avi",
        ".mov",
        ".srt",
        ".sqlite",
        ".accurip",
        ".doc",
        ".docx",
        ".rtf",
    }
)
# Folders and files that operating systems, NAS boxes and sync tools put into music folders.
SYSTEM_NAMES = frozenset(
    {
        "thumbs.db",
        "desktop.ini",
        "ehthumbs.db",
        "$recycle.bin",
        "system volume information",
        "@eadir",
        "#recycle",
        "lost+found",
        "recycler",
        "__macosx",
    }
)

SNIFF_BYTES = 16


def sniff_audio(head: bytes) -> bool:
    """True when the first bytes of a file carry the signature of a common audio container."""
    if len(head) < 4:
        return False
    if head.startswith((b"ID3", b"OggS", b"fLaC", b"MAC ", b"wvpk", b"MPCK", b"TTA1")):
        return True
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[4:8] == b"ftyp":  # MP4 family: M4A, M4B, MP4 audio
        return True
    if head[:4] == b"\x30\x26\xb2\x75":  # ASF (WMA) header GUID
        return True
    if head[:4] == b"\x1a\x45\xdf\xa3":  # Matroska / WebM
        return True
    # MPEG audio frame sync (11 set bits) with a valid layer, or ADTS AAC.
    if head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return True
    if head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return True
    return False


def is_hidden_or_system(name: str, st: os.stat_result | None = None) -> bool:
    """Dot files, AppleDouble twins, OS/NAS housekeeping names and (on Windows) hidden/system attributes."""
    if name.startswith(".") or name.startswith("~$") or name.lower() in SYSTEM_NAMES:
        return True
    attrs = getattr(st, "st_file_attributes", 0) if st is not None else 0
    return bool(attrs & (getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)))


def is_audio_file(path: str | os.PathLike, name: str | None = None) -> bool:
    """Known audio extension, or an unknown/missing extension whose content sniffs as audio."""
    name = name if name is not None else os.path.basename(os.fspath(path))
    ext = os.path.splitext(name)[1].lower()
    if ext in AUDIO_EXTENSIONS:
        return True
    if ext in NON_AUDIO_EXTENSIONS:
        return False
    try:
        with open(path, "rb") as fh:
            return sniff_audio(fh.read(SNIFF_BYTES))
    except OSError:
        return False


def scan_audio_files(
    root: str | os.PathLike,
    *,
    on_error: Callable[[str, OSError], None] | None = None,
) -> Iterator[Path]:
    """Yield absolute paths of audio files under `root`, recursively, in a stable (sorted) order.

    Symlinks to files and folders are followed, but each real folder is walked once, so loops end.
    Unreadable folders are skipped (reported through `on_error` when given).
    """
    root_path = Path(os.path.abspath(os.fspath(root)))
    try:
        root_st = os.stat(root_path)
    except OSError as exc:
        raise FileNotFoundError(f"library folder not found: {os.fsdecode(root_path)}") from exc
    if not stat.S_ISDIR(root_st.st_mode):
        raise NotADirectoryError(f"not a folder: {root_path}")
    seen_dirs: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    stack: list[str] = [str(root_path)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if on_error is not None:
                on_error(folder, exc)
            continue
        subdirs: list[str] = []
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # dangling symlink or vanished file
            if is_hidden_or_system(entry.name, st):
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen_dirs:
                    continue  # symlink loop or second link to a walked folder
                seen_dirs.add(key)
                subdirs.append(entry.path)
            elif stat.S_ISREG(st.st_mode) and is_audio_file(entry.path, entry.name):
                yield Path(entry.path)  # an empty or corrupt one is recorded as failed by the indexer
        stack.extend(reversed(subdirs))  # depth-first, folders in name order
