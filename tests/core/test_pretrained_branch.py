"""The fourth branch takes a configurable pretrained embedding (MuQ or MusiCNN); checkpoints record which."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint_config,
    save_checkpoint,
)
from core.emotions import TAGS
from core.features.genre import GENRES
from core.inference import EmotionModel, InferenceError
from core.model import PRETRAINED_DIMS, ModelConfig, QuadFusionNet

torch.set_num_threads(1)
VERSION = "3.1"
G = len(GENRES)


def _meta(config: ModelConfig) -> dict:
    rng = np.random.default_rng(1)
    norm = {
        "lowlevel": {"mean": np.zeros(8), "std": np.ones(8)},
        "muq": {"mean": rng.normal(size=config.muq_dim), "std": rng.uniform(0.5, 2, config.muq_dim)},
    }
    return {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": VERSION,
        "normalization": {b: v for b, v in norm.items() if b in config.branches},
    }


def _save(tmp_path: Path, kind: str, branches=("muq", "genre", "lowlevel")) -> tuple[Path, QuadFusionNet]:
    torch.manual_seed(0)
    config = ModelConfig(branches=branches, pretrained=kind)
    model = QuadFusionNet(config)
    model.train()
    model(muq=torch.randn(6, config.muq_dim), genre=torch.rand(6, G), lowlevel=torch.randn(6, 8))
    model.eval()
    return save_checkpoint(tmp_path / kind, model, config, _meta(config)), model


@pytest.mark.parametrize("kind", ["muq", "musicnn"])
def test_branch_width_follows_the_embedding_kind(kind: str) -> None:
    cfg = ModelConfig(n_genres=G, pretrained=kind)
    assert cfg.muq_dim == PRETRAINED_DIMS[kind] and cfg.pretrained_kind == kind
    model = QuadFusionNet(cfg).eval()
    assert model.branch_modules["muq"][0].weight.shape == (128, PRETRAINED_DIMS[kind])
    out = model(
        mel=torch.randn(2, 48, 40), muq=torch.randn(2, cfg.muq_dim), genre=torch.rand(2, G), lowlevel=torch.randn(2, 8)
    )
    assert out["embedding"].shape == (2, 128) and out["quadrant_logits"].shape == (2, 4)
    with pytest.raises(ValueError, match=r"muq must be \(B, "):
        model(
            mel=torch.randn(2, 48, 40),
            muq=torch.randn(2, 1024 if kind == "musicnn" else 250),
            genre=torch.rand(2, G),
            lowlevel=torch.randn(2, 8),
        )


def test_embedding_only_width_and_unknown_kind() -> None:
    assert ModelConfig(n_genres=G, pretrained="musicnn", muq_dim=200).muq_dim == 200  # penultimate layer alone
    assert ModelConfig(n_genres=G, branches=("mel", "genre")).pretrained_kind is None
    with pytest.raises(ValueError, match="pretrained must be one of"):
        ModelConfig(n_genres=G, pretrained="vggish")


def test_musicnn_checkpoint_round_trip_and_inference(tmp_path: Path) -> None:
    path, model = _save(tmp_path, "musicnn")
    doc = read_checkpoint_config(path)
    assert doc["pretrained"] == "musicnn" and doc["model"]["pretrained"] == "musicnn" and doc["model"]["muq_dim"] == 250
    loaded, meta = load_checkpoint(path, expected_extractor_version=VERSION)
    assert loaded.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    em = EmotionModel.load(path, device="cpu", expected_extractor_version=VERSION)
    assert em.pretrained_kind == "musicnn" and em.uses_musicnn and not em.uses_muq
    rng = np.random.default_rng(0)
    x, g, low = (
        rng.normal(size=(3, 250)).astype(np.float32),
        np.eye(G, dtype=np.float32)[:3],
        np.zeros((3, 8), np.float32),
    )
    pred = em.predict(musicnn=x, genre=g, lowlevel=low)
    with torch.no_grad():
        z = (x - np.asarray(meta["normalization"]["muq"]["mean"], np.float32)) / np.asarray(
            meta["normalization"]["muq"]["std"], np.float32
        )
        ref = model(muq=torch.from_numpy(z), genre=torch.from_numpy(g), lowlevel=torch.from_numpy(low))
    assert np.allclose(pred.quadrant_probs, torch.softmax(ref["quadrant_logits"], 1).numpy(), atol=1e-5)
    with pytest.raises(InferenceError, match="'musicnn' input is missing"):
        em.predict(muq=rng.normal(size=(3, 1024)), genre=g, lowlevel=low)
    with pytest.raises(InferenceError, match=r"musicnn must be \(N, 250\)"):
        em.predict(musicnn=x[:, :200], genre=g, lowlevel=low)


def test_old_four_branch_checkpoint_loads_as_muq(tmp_path: Path) -> None:
    """Configs written before `pretrained` existed have neither the model key nor the top-level one: MuQ."""
    path, _ = _save(tmp_path, "muq")
    cfg_file = path / "config.json"
    doc = json.loads(cfg_file.read_text())
    del doc["pretrained"], doc["model"]["pretrained"]
    cfg_file.write_text(json.dumps(doc))
    em = EmotionModel.load(path, device="cpu", expected_extractor_version=VERSION)
    assert em.pretrained_kind == "muq" and em.uses_muq and em.config.muq_dim == 1024
    pred = em.predict(
        muq=np.zeros((2, 1024), np.float32), genre=np.zeros((2, G), np.float32), lowlevel=np.zeros((2, 8), np.float32)
    )
    assert pred.quadrant_probs.shape == (2, 4) and np.allclose(pred.quadrant_probs.sum(1), 1, atol=1e-5)


def test_pretrained_disagreeing_with_model_config_is_one_clear_error(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "musicnn")
    cfg_file = path / "config.json"
    doc = json.loads(cfg_file.read_text())
    doc["pretrained"] = "muq"
    cfg_file.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="'pretrained' is 'muq' but the model's fourth branch takes 'musicnn'"):
        load_checkpoint(path, expected_extractor_version=VERSION)
