"""MusiCNN in indexing: stored per track, genres inferred for untagged files (and marked), fed to a MusiCNN model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio import load_excerpt
from core.checkpoint import save_checkpoint
from core.emotions import TAGS
from core.features.genre import GENRE_INDEX, GENRES, UNKNOWN
from core.features.genre_infer import genre_vectors_from_tags
from core.features.track import EXTRACTOR_VERSION, MUSICNN_DIM
from core.model import ModelConfig, QuadFusionNet
from explorer.analysis.filtering import TrackFilter, filter_mask
from explorer.cli.main import main as qfx
from explorer.library.cache import LibraryCache
from explorer.library.indexer import index_library

TAGGED = "warzone2100_legacy_track4.opus"  # tagged Electronic
UNTAGGED_FROM = "warzone2100_aftermath_track24.mp3"  # its audio, written as an untagged WAV


def musicnn_model(directory: Path, inference: dict | None = None) -> Path:
    """A random-init checkpoint whose pretrained branch takes MusiCNN (250-d), without a mel branch; `inference`
    adds post-vote heads (core.stacking)."""
    torch.manual_seed(0)
    config = ModelConfig(branches=("muq", "genre", "lowlevel"), pretrained="musicnn")
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": EXTRACTOR_VERSION,
        "normalization": {
            "lowlevel": {"mean": [0.0] * 8, "std": [1.0] * 8},
            "muq": {"mean": [0.0] * MUSICNN_DIM, "std": [1.0] * MUSICNN_DIM},
        },
        **({"inference": inference} if inference else {}),
    }
    return save_checkpoint(directory, QuadFusionNet(config).eval(), config, meta)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    lib = tmp_path_factory.mktemp("lib")
    shutil.copy2(demo_dir / TAGGED, lib / TAGGED)
    wave = load_excerpt(demo_dir / UNTAGGED_FROM, rates=(16000,), length=12.0).audio[16000]
    sf.write(lib / "untagged.wav", wave, 16000, subtype="FLOAT")  # a WAV carries no genre tag
    return lib


@pytest.fixture(scope="module")
def indexed(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library indexed with the shipped model (on CUDA when present: MusiCNN then runs in the main process)."""
    cache_dir = tmp_path_factory.mktemp("cache")
    with LibraryCache.open(library, cache_dir) as cache:
        summary = index_library(library, cache, workers=1)
    assert summary.analysed == 2 and not summary.failed and summary.extractor_version == EXTRACTOR_VERSION
    return cache_dir


def test_untagged_track_gets_genres_from_audio(library: Path, indexed: Path) -> None:
    cache_dir = indexed
    with LibraryCache.open(library, cache_dir) as cache:
        arrays = cache.load_arrays(musicnn=True)
    rows = {Path(p).name: i for i, p in enumerate(arrays.paths)}
    tagged, untagged = rows[TAGGED], rows["untagged.wav"]
    assert arrays.musicnn.shape == (2, MUSICNN_DIM) and np.isfinite(arrays.musicnn).all()
    assert ((arrays.musicnn[:, 200:] > 0) & (arrays.musicnn[:, 200:] < 1)).all()  # tag activations
    assert arrays.musicnn[0, :200].std() > 0.05 and not np.allclose(arrays.musicnn[0], arrays.musicnn[1])

    # The tagged file keeps its tag genre; the untagged one gets what its audio says, marked as inferred.
    assert arrays.genre_inferred.tolist()[tagged] is False
    assert arrays.genres[tagged, GENRE_INDEX["Electronic"]] == 1 and arrays.genres[tagged].sum() == 1
    expected = genre_vectors_from_tags(arrays.musicnn[untagged, 200:][None])[0]
    np.testing.assert_array_equal(arrays.genres[untagged], expected)
    inferred = [g for g, v in zip(GENRES, expected) if v and g != UNKNOWN]
    assert inferred, "the shipped thresholds infer no genre for this electronic track"
    assert bool(arrays.genre_inferred[untagged]) is True
    assert arrays.genre_text(untagged) == ", ".join(inferred) + " (from audio)"
    assert "(from audio)" not in arrays.genre_text(tagged)

    # The genre filter sees inferred genres.
    mask = filter_mask(arrays, TrackFilter.of(genres=inferred[:1]))
    assert mask[untagged]

    # A second load comes from the column snapshot and keeps the flags.
    with LibraryCache.open(library, cache_dir) as cache:
        again = cache.load_arrays()
    np.testing.assert_array_equal(again.genre_inferred, arrays.genre_inferred)


def test_map_text_marks_inferred_genres(library: Path, indexed: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("PySide6")
    assert qfx(["map", str(library), "--cache", str(indexed), "--out", str(tmp_path / "m.png")]) == 0
    assert "1 of 2 tracks have no genre tag; their genres are inferred from audio" in capsys.readouterr().out


def test_model_with_musicnn_branch_is_fed_and_rerun_from_stored_vectors(library: Path, tmp_path: Path) -> None:
    model = musicnn_model(tmp_path / "model")
    cache_dir = tmp_path / "cache"
    with LibraryCache.open(library, cache_dir) as cache:
        index_library(library, cache, workers=1, model=False, keep_mels=True)  # features, then the model from them
        summary = index_library(library, cache, workers=1, model=model)
        assert summary.analysed == 0 and summary.reanalysed == 2
        first = cache.load_arrays()
    assert first.tag_scores.shape == (2, 12) and np.isfinite(first.embeddings).all()

    from core.inference import EmotionModel

    em = EmotionModel.load(model, device="cpu")
    with LibraryCache.open(library, cache_dir) as cache:
        stored = cache.load_arrays(musicnn=True)
        inputs = cache.stored_inputs(stored.track_ids.tolist())
    direct = em.predict(
        mel=[x["mel"] for x in inputs],
        lowlevel=np.stack([x["lowlevel"] for x in inputs]),
        genre=np.stack([x["genre"] for x in inputs]),
        musicnn=stored.musicnn,
    )
    np.testing.assert_allclose(first.quadrant_probs, direct.quadrant_probs, atol=1e-5)

    # Straight through the workers (each runs MusiCNN and the model on its file): the same results.
    with LibraryCache.open(library, tmp_path / "cache2") as cache:
        assert index_library(library, cache, workers=1, model=model).analysed == 2
        fresh = cache.load_arrays()
    order = [list(fresh.paths).index(p) for p in first.paths]
    np.testing.assert_allclose(fresh.quadrant_probs[order], first.quadrant_probs, atol=1e-5)


def test_model_with_arousal_adjustment_gets_the_descriptors_it_needs(library: Path, tmp_path: Path) -> None:
    """A checkpoint with the monotone arousal adjustment needs each track's interpretive descriptors: indexing feeds
    them on both paths (workers, and the re-run from stored inputs), and the adjustment shows in the results."""
    from core.arousal import feature_columns
    from core.inference import EmotionModel

    arousal = {
        "columns": feature_columns(),
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
        "weights": [0.05, 1.0, 0.01],
        "bias": -1.0,
    }
    model = musicnn_model(tmp_path / "model", {"arousal": arousal})
    plain = musicnn_model(tmp_path / "plain")
    with LibraryCache.open(library, tmp_path / "cache") as cache:
        summary = index_library(library, cache, workers=1, model=model, keep_mels=True)
        assert summary.analysed == 2 and not summary.failed
        through_workers = cache.load_arrays()
        assert index_library(library, cache, workers=1, model=plain).reanalysed == 2
        assert index_library(library, cache, workers=1, model=model).reanalysed == 2  # from stored inputs
        rerun = cache.load_arrays(musicnn=True)
        inputs = cache.stored_inputs(rerun.track_ids.tolist())
    em = EmotionModel.load(model, device="cpu")
    assert em.needs_interpretive
    direct = em.predict(
        mel=[x["mel"] for x in inputs],
        lowlevel=np.stack([x["lowlevel"] for x in inputs]),
        genre=np.stack([x["genre"] for x in inputs]),
        musicnn=rerun.musicnn,
        interpretive=np.stack([x["interpretive"] for x in inputs]),
    )
    unadjusted = EmotionModel.load(plain, device="cpu").predict(
        lowlevel=np.stack([x["lowlevel"] for x in inputs]),
        genre=np.stack([x["genre"] for x in inputs]),
        musicnn=rerun.musicnn,
    )
    np.testing.assert_allclose(rerun.quadrant_probs, direct.quadrant_probs, atol=1e-5)
    order = [list(through_workers.paths).index(p) for p in rerun.paths]
    np.testing.assert_allclose(through_workers.quadrant_probs[order], rerun.quadrant_probs, atol=1e-5)
    assert np.abs(direct.quadrant_probs - unadjusted.quadrant_probs).max() > 0.01  # the adjustment did act
