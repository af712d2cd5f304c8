"""Heads after the network's vote: the MusiCNN probe mix and the monotone arousal adjustment."""

from __future__ import annotations

import json
import warnings
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


def test_tag_probe_mixes_into_the_tag_ranking_on_torch_and_onnx(tmp_path: Path) -> None:
    """The tag probe reads the pretrained vector and the raw low-level values; its tag distribution is mixed with
    the network's by its weight, after the vote, the same way on both runtimes; quadrants are left alone."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.onnx_export import export_checkpoint
    from core.onnx_runtime import OnnxEmotionModel

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 250)).astype(np.float32)
    low = rng.normal(size=(60, 8)).astype(np.float32)
    tags = np.arange(60) % len(TAGS)  # every tag present
    features = np.concatenate([x, low], axis=1)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(features, tags)
    plain = EmotionModel.load(
        _checkpoint(tmp_path / "a", {"members": []}), device="cpu", expected_extractor_version="3"
    )
    path = _checkpoint(tmp_path / "b", {"members": [], "tag_probe": probe_from_sklearn(clf, 0.4)})
    mixed = EmotionModel.load(path, device="cpu", expected_extractor_version="3")
    base, got = plain.predict(musicnn=x, lowlevel=low), mixed.predict(musicnn=x, lowlevel=low)
    expected = 0.6 * base.tag_scores + 0.4 * clf.predict_proba(features)
    np.testing.assert_allclose(got.tag_scores, expected, atol=1e-5)
    np.testing.assert_allclose(got.tag_scores.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(got.quadrant_probs, base.quadrant_probs)
    assert not mixed.needs_interpretive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is the one used on purpose
        export_checkpoint(path, expected_extractor_version=None)
    onnx = OnnxEmotionModel.load(path, device="cpu", expected_extractor_version="3").predict(musicnn=x, lowlevel=low)
    np.testing.assert_allclose(onnx.tag_scores, got.tag_scores, atol=1e-5)


def test_tag_probe_of_the_wrong_width_is_a_checkpoint_error(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    x = rng.normal(size=(48, 250))  # the pretrained vector without the 8 low-level values
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, np.arange(48) % len(TAGS))
    path = _checkpoint(tmp_path, {"members": [], "tag_probe": probe_from_sklearn(clf, 0.4)})
    with pytest.raises(CheckpointError, match=r"tag_probe.mean must be \(258,\)"):
        EmotionModel.load(path, device="cpu", expected_extractor_version="3")
