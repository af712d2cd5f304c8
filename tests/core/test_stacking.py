"""Heads after the network's vote: the MusiCNN probe mix and the monotone arousal adjustment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.arousal import apply_adjustment, feature_columns, fit_adjustment
from core.checkpoint import CheckpointError, save_checkpoint
from core.emotions import TAGS
from core.features.genre import GENRES
from core.inference import EmotionModel, InferenceError
from core.model import ModelConfig, QuadFusionNet
from core.stacking import probe_from_sklearn, probe_probs

torch.set_num_threads(1)
G = len(GENRES)


def _probe_data(n: int = 200, d: int = 250, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(size=(n, d)) + np.eye(4)[y] @ rng.normal(size=(4, d)) * 0.5
    return x.astype(np.float32), y


def test_probe_block_reproduces_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _probe_data()
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(x, y)
    spec = json.loads(json.dumps(probe_from_sklearn(clf, 0.5)))  # survives JSON
    assert np.allclose(probe_probs(spec, x), clf.predict_proba(x), atol=1e-6)


def test_arousal_adjustment_is_monotone_and_respects_the_sign_constraint() -> None:
    rng = np.random.default_rng(0)
    n, cols = 400, feature_columns()
    interp = rng.normal(size=(n, 17))
    y = rng.integers(0, 4, n)
    high = y < 2  # Q1, Q2 high arousal: louder in this synthetic set
    interp[:, cols[0]] += np.where(high, 1.5, -1.5)
    probs = np.full((n, 4), 0.25)
    spec = fit_adjustment(probs, interp, y)
    assert spec["weights"][0] > 0.5 and min(spec["weights"]) >= 0.0
    louder = interp.copy()
    louder[:, cols[0]] += 1.0
    up = apply_adjustment(probs, louder, spec)[:, :2].sum(1)
    base = apply_adjustment(probs, interp, spec)[:, :2].sum(1)
    assert (up >= base - 1e-7).all() and (up > base).mean() > 0.99
    # anti-correlated loudness cannot get a negative weight: the constraint holds it at zero
    interp[:, cols[0]] = -interp[:, cols[0]]
    assert fit_adjustment(probs, interp, y)["weights"][0] == pytest.approx(0.0, abs=1e-9)


def _checkpoint(tmp_path: Path, inference: dict) -> Path:
    torch.manual_seed(0)
    config = ModelConfig(branches=("muq", "lowlevel"), pretrained="musicnn")
    model = QuadFusionNet(config).eval()
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": "3",
        "normalization": {
            "lowlevel": {"mean": np.zeros(8), "std": np.ones(8)},
            "muq": {"mean": np.zeros(250), "std": np.ones(250)},
        },
        "inference": inference,
    }
    return save_checkpoint(tmp_path / "ckpt", model, config, meta)


def test_checkpoint_with_probe_and_arousal_mixes_after_the_vote(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _probe_data(seed=1)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(x, y)
    arousal = {
        "columns": feature_columns(),
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
        "weights": [1.0, 0.0, 0.0],
        "bias": 0.0,
    }
    plain = EmotionModel.load(
        _checkpoint(tmp_path / "a", {"members": []}), device="cpu", expected_extractor_version="3"
    )
    mixed = EmotionModel.load(
        _checkpoint(tmp_path / "b", {"probe": probe_from_sklearn(clf, 0.5), "arousal": arousal}),
        device="cpu",
        expected_extractor_version="3",
    )
    low = np.zeros((len(x), 8), np.float32)
    interp = np.zeros((len(x), 17), np.float32)
    base = plain.predict(musicnn=x, lowlevel=low).quadrant_probs
    got = mixed.predict(musicnn=x, lowlevel=low, interpretive=interp).quadrant_probs
    assert np.allclose(got, 0.5 * base + 0.5 * clf.predict_proba(x), atol=1e-5)  # arousal shift is 0 at z = 0
    assert mixed.needs_interpretive and not plain.needs_interpretive
    with pytest.raises(InferenceError, match="interpretive descriptors"):
        mixed.predict(musicnn=x, lowlevel=low)


def test_probe_of_the_wrong_width_is_a_checkpoint_error(tmp_path: Path) -> None:
    x, y = _probe_data(d=200)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    path = _checkpoint(tmp_path, {"members": []})
    doc = json.loads((path / "config.json").read_text())
    doc["inference"]["probe"] = probe_from_sklearn(clf, 0.5)
    (path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"probe.mean must be \(250,\)"):
        EmotionModel.load(path, device="cpu", expected_extractor_version="3")
