"""Shared fixtures: the embedded demo library and the 4Q dataset beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "resources" / "demo"
FOURQ_DIR = Path(os.environ.get("QFX_4Q_DIR", ROOT.parent / "shared" / "data" / "4q"))
DEAM_DIR = Path(os.environ.get("QFX_DEAM_DIR", ROOT.parent / "shared" / "data" / "deam"))


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture(scope="session")
def demo_files() -> list[Path]:
    files = sorted(p for p in DEMO_DIR.iterdir() if p.suffix in {".ogg", ".mp3", ".opus", ".m4a", ".flac"})
    assert len(files) == 20, "the embedded demo library must hold 20 excerpts"
    return files


@pytest.fixture(scope="session")
def fourq_dir() -> Path:
    if not (FOURQ_DIR / "labels.csv").exists():
        pytest.skip(f"4Q dataset not found at {FOURQ_DIR}")
    return FOURQ_DIR


@pytest.fixture(scope="session")
def deam_dir() -> Path:
    if not DEAM_DIR.exists():
        pytest.skip(f"DEAM annotations not found at {DEAM_DIR}")
    return DEAM_DIR



@pytest.fixture(scope="session")
def fourq_synthetic():
    """Factory: FeatureArrays whose quadrant is learnable from every branch (no audio, no data folder)."""
    from synthetic import synthetic_feature_arrays

    return synthetic_feature_arrays
