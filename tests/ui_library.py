"""Shared by the UI tests: an emotion model and an indexed copy of the demo library in a temporary cache.

The shipped default model is used when it is installed and needs no MuQ (weights can't be downloaded in tests);
otherwise a seeded random-init QuadFusionNet checkpoint stands in: the UI only needs consistent arrays.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np


def test_model_dir(tmp: Path) -> Path:
    from core.inference import EmotionModel, default_model_dir

    try:
        if not EmotionModel.load().uses_muq:
            return default_model_dir()
    except Exception:
        pass
    import torch

    from core.checkpoint import save_checkpoint
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.lowlevel import LOWLEVEL_NAMES
    from core.features.track import EXTRACTOR_VERSION
    from core.model import ModelConfig, QuadFusionNet

    torch.manual_seed(0)
    config = ModelConfig(branches=("mel", "genre", "lowlevel"), mel_frames=256)
    model = QuadFusionNet(config).eval()
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "normalization": {
            "mel": {"mean": -3.5, "std": 2.0},
            "lowlevel": {"mean": np.zeros(len(LOWLEVEL_NAMES)), "std": np.ones(len(LOWLEVEL_NAMES))},
        },
        "extractor_version": str(EXTRACTOR_VERSION),
        "training": {"dataset": "random init for UI tests"},
    }
    out = tmp / "model"
    save_checkpoint(out, model, config, meta)
    return out


def index_demo(demo_dir: Path, tmp: Path) -> tuple[Path, Path, Path]:
    """Copy the demo into `tmp/library`, index it into `tmp/cache`; returns (library, cache_dir, model_dir)."""
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library

    library = tmp / "library"
    shutil.copytree(demo_dir, library)
    cache_dir = tmp / "cache"
    model_dir = test_model_dir(tmp)
    with LibraryCache.open(library, cache_dir) as cache:
        summary = index_library(library, cache, workers=2, model=str(model_dir))
    assert not summary.failed, summary.failed
    return library, cache_dir, model_dir


def shared_indexed_demo(tmp_path_factory, demo_dir: Path) -> tuple[Path, Path, Path]:
    """index_demo once per test session, shared by every UI test module (indexing costs ~20 s on 2 cores)."""
    base = tmp_path_factory.getbasetemp() / "ui_demo_shared"
    done = base / "DONE"
    if not done.exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        _, _, model_dir = index_demo(demo_dir, base)
        done.write_text(str(model_dir))
    return base / "library", base / "cache", Path(done.read_text())
