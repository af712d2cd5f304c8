"""Shared helpers for the library-safety tests: a drive that can be unplugged (a real tmpfs mount when this machine
allows mounting, else a stand-in folder swap), a tiny model, and the processes of a session."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import torch

from core.checkpoint import save_checkpoint
from core.emotions import TAGS
from core.features.genre import GENRES
from core.model import ModelConfig, QuadFusionNet

ROOT = Path(__file__).resolve().parent.parent


def make_model(directory: Path, seed: int = 0) -> Path:
    """A random-init checkpoint (a short mel crop keeps CPU inference cheap in tests)."""
    torch.manual_seed(seed)
    config = ModelConfig(branches=("mel", "genre", "lowlevel"), mel_frames=64)
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": "1",
        "normalization": {"mel": {"mean": 0.0, "std": 1.0}, "lowlevel": {"mean": [0.0] * 8, "std": [1.0] * 8}},
    }
    return save_checkpoint(directory, QuadFusionNet(config), config, meta)


def can_mount(probe_dir: Path) -> bool:
    probe_dir.mkdir(parents=True, exist_ok=True)
    ok = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe_dir)], capture_output=True
        ).returncode
        == 0
    )
    if ok:
        subprocess.run(["umount", str(probe_dir)], check=True)
    return ok


class Drive:
    """A folder whose content can be unplugged and plugged back: a real tmpfs mount when mounting works (the
    folder stays, empty, like an unmounted mount point), else the content is swapped away by renaming."""

    def __init__(self, path: Path, mount: bool, size: str = "256m") -> None:
        self.path, self.mount, self.size = path, mount, size
        self.stash = path.parent / f".stash-{uuid.uuid4().hex}"
        path.mkdir(parents=True, exist_ok=True)
        self.plugged = False

    def plug(self, files: list[Path]) -> None:
        if self.mount:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.path)], check=True)
            for f in files:  # tmpfs loses everything on unmount: copy back with the same times (same stat)
                shutil.copy2(f, self.path / f.name)
        elif self.stash.exists():
            self.path.rmdir()
            self.stash.rename(self.path)
        else:
            for f in files:
                shutil.copy2(f, self.path / f.name)
        self.plugged = True

    def unplug(self) -> None:
        if self.mount:
            subprocess.run(["umount", str(self.path)], check=True)
        else:
            self.path.rename(self.stash)
            self.path.mkdir()
        self.plugged = False

    def cleanup(self) -> None:
        if self.mount and self.plugged:
            subprocess.run(["umount", "-l", str(self.path)])


def session_processes(sid: int) -> list[tuple[int, str]]:
    """(pid, command) of every live process in session `sid` (zombies excluded)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append((int(entry), cmd[:120]))
        except (OSError, ValueError, IndexError):
            continue
    return out
