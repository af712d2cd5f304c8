"""The shipped default (resources/models/default) loads and predicts on real demo excerpts, both protocols."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
RECORDED = ROOT / "results" / "demo_arousal_after.json"
CLIPS = ("wesnoth_battle-epic", "wesnoth_sad", "warzone2100_legacy_track12")


@pytest.fixture(scope="module")
def demo_features(demo_files: list[Path]):
    from core.features.track import extract_track_features

    chosen = [p for p in demo_files if p.stem in CLIPS]
    assert len(chosen) == len(CLIPS)
    return chosen, [extract_track_features(p) for p in chosen]


def test_default_is_the_musicnn_model_with_a_model_card() -> None:
    from core.checkpoint import read_checkpoint_config
    from core.inference import EmotionModel, default_model_dir

    doc = read_checkpoint_config(default_model_dir())
    assert doc["pretrained"] == "musicnn" and doc["model"]["muq_dim"] == 250 and "mel" not in doc["model"]["branches"]
    card = (default_model_dir() / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in ("audio only", "metadata genres", "ISC", "split=test", "cross-validation"):
        assert needle in card, needle
    model = EmotionModel.load(device="cpu")
    assert model.uses_musicnn and not model.uses_muq and model.profile == "fast"


def test_default_predicts_demo_clips_as_recorded(demo_features) -> None:
    """Probabilities are proper, the audio-only protocol runs on inferred genres, and the numbers are the ones
    docs/results.md reports (results/demo_arousal_after.json, written by scripts/demo_arousal.py)."""
    from core.datasets import inferred_genres
    from core.features.track import model_inputs
    from core.inference import EmotionModel

    files, feats = demo_features
    model = EmotionModel.load(device="cpu")
    common = model_inputs(feats, with_genre=False)
    mnn = common["musicnn"]
    recorded = json.loads(RECORDED.read_text())["tracks"]
    for protocol, genre in (("metadata", np.stack([f.genre for f in feats])), ("audio", inferred_genres(mnn))):
        pred = model.predict(genre=genre, **common)
        assert pred.quadrant_probs.shape == (len(files), 4) and pred.embeddings.shape == (len(files), 128)
        assert np.allclose(pred.quadrant_probs.sum(1), 1.0, atol=1e-5)
        assert np.allclose(pred.tag_scores.sum(1), 1.0, atol=1e-5)
        for f, p in zip(files, pred.quadrant_probs, strict=True):
            assert float(p[0] + p[1]) == pytest.approx(recorded[f.stem][protocol]["arousal"], abs=2e-3), (
                f.stem,
                protocol,
            )
