"""MuQ embeddings: real `muq.MuQ` forward passes (tiny random config) on demo audio, and offline-only loading."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.features.muq_embed import (
    MUQ_DIM,
    MUQ_REPO_ID,
    MuQEmbedder,
    MuQUnavailable,
    load_muq_embedder,
    muq_large_config,
    tiny_muq_embedder,
)

SECONDS = 8  # keep forward passes cheap; the code path is identical for 30 s excerpts


@pytest.fixture(scope="module", autouse=True)
def _offline():
    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "QFX_MUQ_DIR")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("QFX_MUQ_DIR", None)
    torch.set_num_threads(1)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def tiny() -> MuQEmbedder:
    return tiny_muq_embedder()


@pytest.fixture(scope="module")
def waves(demo_dir) -> list[np.ndarray]:
    names = ["wesnoth_knolls.opus", "warzone2100_legacy_track5.mp3", "wesnoth_sad.ogg"]
    return [load_audio(demo_dir / n, 24000, start=5.0, duration=SECONDS) for n in names]


def test_shape_finite_and_distinct(tiny, waves):
    out = tiny.embed(waves)
    assert out.shape == (3, MUQ_DIM) and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.std(axis=1).min() > 0.1  # not a constant vector
    gaps = [np.abs(out[i] - out[j]).max() for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 1e-3  # different music, different embedding


def test_deterministic_and_batch_invariant(tiny, waves):
    together = tiny.embed(waves, batch_size=3)
    alone = np.stack([tiny.embed([w])[0] for w in waves])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    again = tiny_muq_embedder().embed(waves[:1])
    np.testing.assert_array_equal(again[0], together[0])
    other_seed = tiny_muq_embedder(seed=1).embed(waves[:1])
    assert np.abs(other_seed[0] - together[0]).max() > 1e-3


def test_mixed_lengths_short_and_chunked(tiny, waves):
    short = waves[0][:2400]  # 0.1 s: padded internally, only its own tokens averaged
    medium = waves[1][: 24000 * 3 + 123]
    out = tiny.embed([short, medium, waves[2]], batch_size=2)
    assert out.shape == (3, MUQ_DIM) and np.isfinite(out).all()
    np.testing.assert_allclose(out[2], tiny.embed([waves[2]])[0], atol=1e-5)

    chunked = MuQEmbedder(tiny.model, device="cpu", chunk_seconds=3.0)
    full = chunked.embed([waves[0]])[0]
    parts = [waves[0][i : i + 72000] for i in range(0, len(waves[0]), 72000)]
    assert [len(p) for p in parts] == [72000, 72000, 48000]
    part_emb = tiny.embed(parts)
    tokens = np.array([75, 75, 50], dtype=np.float64)
    np.testing.assert_allclose(full, (part_emb * tokens[:, None]).sum(0) / tokens.sum(), atol=1e-5)


def test_layer_choice(waves):
    first = tiny_muq_embedder(layer=0).embed(waves[:1])
    last = tiny_muq_embedder(layer=-1).embed(waves[:1])
    assert np.abs(first - last).max() > 1e-3
    with pytest.raises(ValueError):
        tiny_muq_embedder(layer=2)  # 1 layer -> hidden states 0 and 1 only


@pytest.mark.parametrize(
    "bad", [np.zeros(0, np.float32), np.full(24000, np.nan, np.float32), np.zeros((2, 24000), np.float32)]
)
def test_bad_input_raises_value_error(tiny, bad):
    with pytest.raises(ValueError):
        tiny.embed([bad])


def test_empty_batch(tiny):
    assert tiny.embed([]).shape == (0, MUQ_DIM)


def test_unavailable_without_weights(tmp_path):
    with pytest.raises(MuQUnavailable, match="Hugging Face cache") as info:
        load_muq_embedder(cache_dir=tmp_path / "hf")
    assert MUQ_REPO_ID in str(info.value) and "CC-BY-NC" in str(info.value)
    with pytest.raises(MuQUnavailable, match="config.json"):
        load_muq_embedder(tmp_path)


def test_corrupt_weights_are_unavailable(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(MuQUnavailable, match="Could not load"):
        load_muq_embedder(tmp_path, device="cpu")


def test_loads_saved_dir_and_hf_cache_layout(tiny, waves, tmp_path):
    reference = tiny.embed(waves[:1])
    saved = tmp_path / "saved"
    tiny.model.save_pretrained(saved)
    np.testing.assert_array_equal(load_muq_embedder(saved, device="cpu").embed(waves[:1]), reference)

    # The layout huggingface_hub leaves behind after a download of the real weights.
    cache = tmp_path / "hf"
    repo = cache / ("models--" + MUQ_REPO_ID.replace("/", "--"))
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    for f in ("config.json", "model.safetensors"):
        (snap / f).write_bytes((saved / f).read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    emb = load_muq_embedder(cache_dir=cache, device="cpu")
    assert emb.source == str(snap)
    np.testing.assert_array_equal(emb.embed(waves[:1]), reference)


def test_large_config_matches_muq_large():
    cfg = muq_large_config()
    assert cfg["encoder_dim"] == 1024 and cfg["encoder_depth"] == 12 and cfg["hop_length"] == 240
    w2v = cfg["w2v2_config"]
    assert w2v["num_attention_heads"] == 16 and w2v["intermediate_size"] == 4096
    assert w2v["position_embeddings_type"] == "rotary"
    json.dumps(cfg)  # serialisable, as save_pretrained needs


def test_building_muq_leaves_global_rng_alone():
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    tiny_muq_embedder()
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
