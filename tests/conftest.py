"""Shared fixtures for every test folder (tests/ mirrors the packages: core, explorer/library, explorer/analysis,
explorer/ui, explorer/cli): the embedded demo library (also indexed, with a model, and laid out as a 4Q-style folder)
and the data sets beside the checkout (4Q, DEAM, Melon), which skip only their extra layer of tests when absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "resources" / "demo"
FOURQ_DIR = Path(os.environ.get("QFX_4Q_DIR", ROOT.parent / "shared" / "data" / "4q"))
DEAM_DIR = Path(os.environ.get("QFX_DEAM_DIR", ROOT.parent / "shared" / "data" / "deam"))
MELON_DIR = Path(os.environ.get("QFX_MELON_DIR", ROOT.parent / "shared" / "data" / "melon"))


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
def melon_dir() -> Path:
    if not (MELON_DIR / "genre_gn_all.json").exists():
        pytest.skip(f"Melon genre table not found at {MELON_DIR}")
    return MELON_DIR


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


def _demo_model(tmp: Path) -> Path:
    """The shipped model when it is installed and needs no MuQ (weights cannot be downloaded in tests); otherwise a
    seeded random-init QuadFusionNet checkpoint: the UI and the commands only need consistent arrays."""
    import numpy as np
    import torch

    from core.checkpoint import CheckpointError, save_checkpoint
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.lowlevel import LOWLEVEL_NAMES
    from core.features.track import EXTRACTOR_VERSION
    from core.inference import EmotionModel, default_model_dir
    from core.model import ModelConfig, QuadFusionNet

    try:
        if not EmotionModel.load().uses_muq:
            return default_model_dir()
    except CheckpointError:
        pass
    torch.manual_seed(0)
    config = ModelConfig(branches=("mel", "genre", "lowlevel"), mel_frames=256)
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "normalization": {
            "mel": {"mean": -3.5, "std": 2.0},
            "lowlevel": {"mean": np.zeros(len(LOWLEVEL_NAMES)), "std": np.ones(len(LOWLEVEL_NAMES))},
        },
        "extractor_version": str(EXTRACTOR_VERSION),
        "training": {"dataset": "random init for tests"},
    }
    return save_checkpoint(tmp / "model", QuadFusionNet(config).eval(), config, meta)


def _index_demo(demo_dir: Path, tmp: Path) -> tuple[Path, Path, Path]:
    """Copy the demo into `tmp/library`, index it into `tmp/cache`; returns (library, cache_dir, model_dir)."""
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library

    library = tmp / "library"
    shutil.copytree(demo_dir, library)
    cache_dir = tmp / "cache"
    model_dir = _demo_model(tmp)
    with LibraryCache.open(library, cache_dir) as cache:
        summary = index_library(library, cache, workers=2, model=str(model_dir))
    assert not summary.failed, summary.failed
    return library, cache_dir, model_dir


@pytest.fixture(scope="session")
def indexed_demo(tmp_path_factory, demo_dir) -> tuple[Path, Path, Path]:
    """(library, cache_dir, model_dir): the demo indexed once per session and shared; treat it as read-only
    (indexing costs ~20 s on 2 cores). Tests that write to a library use `index_demo_copy`."""
    return _index_demo(demo_dir, tmp_path_factory.mktemp("indexed_demo"))


@pytest.fixture(scope="session")
def index_demo_copy(demo_dir):
    """Factory: index_demo_copy(tmp) indexes a private copy of the demo under `tmp`; (library, cache, model)."""
    return lambda tmp: _index_demo(demo_dir, tmp)


# Labels for the demo excerpts laid out as a 4Q-style folder: real audio, invented but consistent labels.
_DEMO_LABELS = {
    "Q1": ("Happy; Cheerful; Exciting", "Pop/Rock; Stage & Screen"),
    "Q2": ("Energetic; Rousing; Aggressive", "Electronic; Stage & Screen"),
    "Q3": ("Sad; Gloomy; Lonely", "Classical; Stage & Screen"),
    "Q4": ("Relaxed; Mellow; Soothing", "New Age; Stage & Screen"),
}


@pytest.fixture(scope="session")
def demo_fourq_dir(tmp_path_factory, demo_files) -> Path:
    """The 20 demo excerpts as a 4Q-style folder (labels.csv + audio/<song_id>.<ext>), 5 per quadrant: 4 per
    quadrant in the train split, 1 in the test split; one test clip has only moods that map to no tag."""
    root = tmp_path_factory.mktemp("demo_4q")
    (root / "audio").mkdir()
    lines = ["song_id,artist,title,quadrant,moods,genres,split"]
    for i, path in enumerate(demo_files):
        quadrant = f"Q{i % 4 + 1}"
        song_id = f"DEMO{i:04d}"
        shutil.copy(path, root / "audio" / f"{song_id}{path.suffix}")
        moods, genres = _DEMO_LABELS[quadrant]
        split = "train" if i < 16 else "test"
        if i == 19:
            moods = "Circular; Greasy"  # maps to no tag: the ranking task must skip it
        lines.append(f'{song_id},Demo,{path.stem},{quadrant},"{moods}","{genres}",{split}')
    (root / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session", params=["demo", "4q"])
def labelled_dir(request) -> Path:
    """A 4Q-style labelled folder: the demo-derived one everywhere, then the real 4Q data set as an extra layer
    (skipped where ../shared/data/4q is absent)."""
    return request.getfixturevalue("demo_fourq_dir" if request.param == "demo" else "fourq_dir")


@pytest.fixture(scope="module")
def indexed(indexed_demo):
    """The indexed demo as the window tests name it: (library, cache_dir, model_dir)."""
    return indexed_demo


@pytest.fixture
def window(qtbot, indexed, tmp_path):
    """(MainWindow, RecordingPlayer): the explorer on a private copy of the indexed demo cache (likes and
    corrections written by a test stay in that test), shown at 1400 x 900 with the whole map in view."""
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest

    from explorer.ui.main_window import MainWindow
    from ui_helpers import RecordingPlayer

    library, cache_dir, model_dir = indexed
    cache_copy = tmp_path / "cache"
    shutil.copytree(cache_dir, cache_copy)
    player = RecordingPlayer()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(
        player=player,
        settings=settings,
        cache_dir=cache_copy,
        model_loader=lambda: (str(model_dir), None),
        index_workers=1,
    )
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.open_library(library, index=False)
    win.map.reset_view()
    QTest.qWait(50)
    yield win, player
    win.close()
